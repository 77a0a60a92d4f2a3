// The Responses API through the official SDK (issue 18): responses.create,
// responses.parse and responses.stream, on Azure's v1 layout (the AzureOpenAI
// client with the /openai/v1/ base URL, the deployment in `model`) and on
// OpenAI's (the OpenAI client with the /v1 base URL), and its errors as the
// SDK's error classes.
'use strict';
const { test } = require('node:test');
const assert = require('node:assert/strict');
const OpenAI = require('openai');
const { zodTextFormat } = require('openai/helpers/zod');
const { z } = require('zod');
const { API_KEY, WEATHER_PARAMETERS, azureV1Preview, openaiLayout, unique, requestsWithHeader } = require('./support.cjs');

const CLIENTS = [
  ['azure', azureV1Preview],
  ['openai', openaiLayout],
];

const FRENCH = { model: 'gpt-4o', instructions: 'Translate into French.', input: 'I love programming.' };

const WEATHER_TOOL = {
  type: 'function',
  name: 'get_weather',
  description: 'The weather of a place.',
  parameters: WEATHER_PARAMETERS,
  strict: true,
};

const TIME_TOOL = {
  type: 'function',
  name: 'get_time',
  description: 'The time in a time zone.',
  parameters: {
    type: 'object',
    properties: { zone: { type: 'string' } },
    required: ['zone'],
    additionalProperties: false,
  },
  strict: true,
};

test('create: the request goes to /openai/v1/responses with api-key, the body as given', async () => {
  const id = unique();
  await azureV1Preview().responses.create(FRENCH, { headers: { 'x-case': id } });
  const [sent] = await requestsWithHeader('x-case', id);
  assert.equal(sent.method, 'POST');
  assert.equal(sent.uri, '/openai/v1/responses?api-version=preview');
  assert.equal(sent.headers['api-key'], API_KEY);
  assert.deepEqual(sent.body, FRENCH);
});

test('create: the OpenAI client goes to /v1/responses with a bearer token', async () => {
  const id = unique();
  await openaiLayout().responses.create(FRENCH, { headers: { 'x-case': id } });
  const [sent] = await requestsWithHeader('x-case', id);
  assert.equal(sent.uri, '/v1/responses');
  assert.equal(sent.headers.authorization, `Bearer ${API_KEY}`);
  assert.deepEqual(sent.body, FRENCH);
});

for (const [name, client] of CLIENTS) {
  test(`create (${name}): output_text, the message item, usage, model and status`, async () => {
    const response = await client().responses.create(FRENCH);
    assert.equal(response.object, 'response');
    assert.match(response.id, /^resp_/);
    assert.equal(response.status, 'completed');
    assert.equal(response.error, null);
    assert.equal(response.incomplete_details, null);
    assert.equal(response.model, 'gpt-4o-2024-08-06');
    assert.equal(response.instructions, 'Translate into French.');
    assert.equal(response.output_text, "J'adore la programmation.");
    assert.equal(response.output.length, 1);
    const [message] = response.output;
    assert.equal(message.type, 'message');
    assert.equal(message.role, 'assistant');
    assert.equal(message.status, 'completed');
    assert.match(message.id, /^msg_/);
    assert.deepEqual(message.content, [{ type: 'output_text', text: "J'adore la programmation.", annotations: [], logprobs: [] }]);
    assert.deepEqual(response.usage, {
      input_tokens: 31,
      input_tokens_details: { cached_tokens: 0, cache_write_tokens: 0 },
      output_tokens: 8,
      output_tokens_details: { reasoning_tokens: 0 },
      total_tokens: 39,
    });
    assert.deepEqual(response.text, { format: { type: 'text' } });
    assert.equal(response.tool_choice, 'auto');
    assert.deepEqual(response.tools, []);
  });
}

test('create: Azure sends user null, OpenAI leaves it out', async () => {
  assert.equal((await azureV1Preview().responses.create(FRENCH)).user, null);
  assert.equal('user' in (await openaiLayout().responses.create(FRENCH)), false);
});

for (const [name, client] of CLIENTS) {
  test(`tools (${name}): the scripted call is a function_call item with its call_id`, async () => {
    const response = await client().responses.create({
      model: 'gpt-4o',
      input: 'What is the weather in Paris?',
      tools: [WEATHER_TOOL],
    });
    assert.equal(response.status, 'completed');
    assert.equal(response.output_text, '');
    assert.equal(response.output.length, 1);
    const [call] = response.output;
    assert.equal(call.type, 'function_call');
    assert.match(call.id, /^fc_/);
    assert.equal(call.call_id, 'call_emulator_weather');
    assert.equal(call.name, 'get_weather');
    assert.equal(call.arguments, '{"location":"Paris"}');
    assert.equal(call.status, 'completed');
    assert.deepEqual(response.tools.map((t) => t.name), ['get_weather']);
  });
}

test('tools: the function_call_output goes back and the model answers in text', async () => {
  const client = azureV1Preview();
  const input = [{ role: 'user', content: 'What is the weather in Paris?' }];
  const first = await client.responses.create({ model: 'gpt-4o', input, tools: [WEATHER_TOOL] });
  const [call] = first.output;
  const second = await client.responses.create({
    model: 'gpt-4o',
    input: [...input, call, { type: 'function_call_output', call_id: call.call_id, output: '{"temperature":22}' }],
    tools: [WEATHER_TOOL],
  });
  assert.equal(second.output_text, 'It is sunny and 22 degrees in Paris.');
  assert.deepEqual(second.output.map((item) => item.type), ['message']);
});

test('tools: tool_choice none answers text', async () => {
  const response = await azureV1Preview().responses.create({
    model: 'gpt-4o',
    input: 'What is the weather in Paris?',
    tools: [WEATHER_TOOL],
    tool_choice: 'none',
  });
  assert.deepEqual(response.output.map((item) => item.type), ['message']);
  assert.equal(response.output_text, 'It is sunny and 22 degrees in Paris.');
  assert.equal(response.tool_choice, 'none');
});

for (const [name, client] of CLIENTS) {
  test(`tools (${name}): tool_choice required with an answer calling nothing calls a declared function`, async () => {
    const response = await client().responses.create({
      model: 'gpt-4o',
      input: 'Hello there.',
      tools: [TIME_TOOL],
      tool_choice: 'required',
    });
    assert.equal(response.tool_choice, 'required');
    assert.equal(response.output.length, 1);
    const [call] = response.output;
    assert.equal(call.type, 'function_call');
    assert.equal(call.name, 'get_time');
    assert.match(call.call_id, /^call_/);
    const args = JSON.parse(call.arguments);
    assert.deepEqual(Object.keys(args), ['zone']);
    assert.equal(typeof args.zone, 'string');
  });
}

test('tools: tool_choice naming a function calls that function only', async () => {
  const response = await openaiLayout().responses.create({
    model: 'gpt-4o',
    input: 'What is the weather in Paris?',
    tools: [WEATHER_TOOL, TIME_TOOL],
    tool_choice: { type: 'function', name: 'get_time' },
  });
  assert.deepEqual(response.tool_choice, { type: 'function', name: 'get_time' });
  assert.equal(response.output.length, 1);
  const [call] = response.output;
  assert.equal(call.type, 'function_call');
  assert.equal(call.name, 'get_time');
  assert.equal(typeof JSON.parse(call.arguments).zone, 'string');
});

test('tools: tool_choice naming an undeclared function is a BadRequestError', async () => {
  await assert.rejects(
    azureV1Preview().responses.create({
      model: 'gpt-4o',
      input: 'Hello there.',
      tools: [WEATHER_TOOL],
      tool_choice: { type: 'function', name: 'get_time' },
    }),
    (e) => {
      assert.ok(e instanceof OpenAI.BadRequestError);
      assert.equal(e.status, 400);
      assert.equal(e.param, 'tool_choice.name');
      return true;
    },
  );
});

const Event = z.object({
  name: z.string(),
  day: z.enum(['monday', 'tuesday', 'wednesday']),
  attendees: z.array(z.object({ name: z.string(), age: z.number().int() })),
  place: z.string().nullable(),
});

for (const [name, client] of CLIENTS) {
  test(`parse (${name}): responses.parse with zodTextFormat gives output_parsed matching the schema`, async () => {
    const id = unique();
    const response = await client().responses.parse(
      { model: 'gpt-4o', input: 'Extract the event.', text: { format: zodTextFormat(Event, 'event') } },
      { headers: { 'x-case': id } },
    );
    assert.equal(response.status, 'completed');
    assert.notEqual(response.output_parsed, null);
    assert.deepEqual(Event.parse(response.output_parsed), response.output_parsed);
    assert.deepEqual(JSON.parse(response.output_text), response.output_parsed);
    assert.equal(response.text.format.type, 'json_schema');
    assert.equal(response.text.format.name, 'event');
    assert.equal(response.text.format.strict, true);
    const [sent] = await requestsWithHeader('x-case', id);
    assert.equal(sent.body.text.format.type, 'json_schema');
    assert.deepEqual(sent.body.text.format.schema.required, ['name', 'day', 'attendees', 'place']);
  });
}

for (const [name, client] of CLIENTS) {
  test(`reasoning (${name}): a reasoning deployment answers a reasoning item and reasoning tokens`, async () => {
    const response = await client().responses.create({
      model: 'o3-mini',
      input: 'I love programming.',
      reasoning: { effort: 'low', summary: 'auto' },
    });
    assert.equal(response.model, 'o3-mini-2025-01-31');
    assert.deepEqual(response.reasoning, { effort: 'low', summary: 'auto' });
    assert.deepEqual(response.output.map((item) => item.type), ['reasoning', 'message']);
    const [reasoning] = response.output;
    assert.match(reasoning.id, /^rs_/);
    assert.equal(reasoning.summary.length, 1);
    assert.equal(reasoning.summary[0].type, 'summary_text');
    assert.ok(reasoning.summary[0].text.length > 0);
    assert.equal(response.output_text, "This is the emulator's answer to: I love programming.");
    assert.equal(response.usage.output_tokens_details.reasoning_tokens, 16);
    assert.equal(response.usage.output_tokens, response.usage.output_tokens_details.reasoning_tokens + 9);
    assert.equal(response.usage.total_tokens, response.usage.input_tokens + response.usage.output_tokens);
  });
}

test('reasoning: effort defaults to medium, 64 reasoning tokens', async () => {
  const response = await azureV1Preview().responses.create({ model: 'o3-mini', input: 'I love programming.' });
  assert.equal(response.reasoning.effort, 'medium');
  assert.equal(response.usage.output_tokens_details.reasoning_tokens, 64);
  assert.deepEqual(response.output.map((item) => item.type), ['reasoning', 'message']);
  assert.deepEqual(response.output[0].summary, []);
});

test('reasoning: reasoning.effort on a deployment that does not reason is a BadRequestError', async () => {
  await assert.rejects(
    openaiLayout().responses.create({ ...FRENCH, reasoning: { effort: 'low' } }),
    (e) => {
      assert.ok(e instanceof OpenAI.BadRequestError);
      assert.equal(e.code, 'unsupported_parameter');
      assert.equal(e.param, 'reasoning.effort');
      return true;
    },
  );
});

// Every event's type, in order, and the text deltas, from responses.stream.
async function streamed(client, body) {
  const stream = client.responses.stream(body);
  const types = [];
  const sequence = [];
  let deltas = '';
  for await (const event of stream) {
    types.push(event.type);
    sequence.push(event.sequence_number);
    if (event.type === 'response.output_text.delta') deltas += event.delta;
  }
  return { types, sequence, deltas, final: await stream.finalResponse() };
}

for (const [name, client] of CLIENTS) {
  test(`stream (${name}): the events in order, the deltas join into the answer, finalResponse as create`, async () => {
    const { types, sequence, deltas, final } = await streamed(client(), FRENCH);
    const words = "J'adore la programmation.".split(' ').length;
    assert.deepEqual(types, [
      'response.created',
      'response.in_progress',
      'response.output_item.added',
      'response.content_part.added',
      ...Array(words).fill('response.output_text.delta'),
      'response.output_text.done',
      'response.content_part.done',
      'response.output_item.done',
      'response.completed',
    ]);
    assert.deepEqual(sequence, types.map((_, i) => i));
    assert.equal(deltas, "J'adore la programmation.");
    const created = await client().responses.create(FRENCH);
    assert.equal(final.status, 'completed');
    assert.equal(final.output_text, created.output_text);
    assert.deepEqual(final.usage, created.usage);
    assert.equal(final.model, created.model);
    assert.deepEqual(final.output.map((item) => item.type), ['message']);
  });
}

test('stream: a reasoning deployment streams its summary before the message', async () => {
  const { types, final } = await streamed(openaiLayout(), {
    model: 'o3-mini',
    input: 'I love programming.',
    reasoning: { summary: 'auto' },
  });
  const first = (type) => types.indexOf(type);
  assert.ok(first('response.reasoning_summary_part.added') > first('response.output_item.added'));
  assert.ok(first('response.reasoning_summary_text.delta') > first('response.reasoning_summary_part.added'));
  assert.ok(first('response.reasoning_summary_text.done') > first('response.reasoning_summary_text.delta'));
  assert.ok(first('response.reasoning_summary_part.done') > first('response.reasoning_summary_text.done'));
  assert.ok(first('response.content_part.added') > first('response.reasoning_summary_part.done'));
  assert.equal(types.filter((t) => t === 'response.output_item.added').length, 2);
  assert.equal(types.at(-1), 'response.completed');
  assert.deepEqual(final.output.map((item) => item.type), ['reasoning', 'message']);
  assert.equal(final.output_text, "This is the emulator's answer to: I love programming.");
  assert.equal(final.usage.output_tokens_details.reasoning_tokens, 64);
});

test('stream: a function call streams its arguments and finalResponse holds the call', async () => {
  const body = { model: 'gpt-4o', input: 'What is the weather in Paris?', tools: [WEATHER_TOOL] };
  const stream = azureV1Preview().responses.stream(body);
  const types = [];
  let args = '';
  for await (const event of stream) {
    types.push(event.type);
    if (event.type === 'response.function_call_arguments.delta') args += event.delta;
  }
  const final = await stream.finalResponse();
  assert.equal(args, '{"location":"Paris"}');
  assert.equal(types.filter((t) => t === 'response.function_call_arguments.delta').length, Math.ceil(args.length / 8));
  assert.deepEqual(types.filter((t) => !t.endsWith('.delta')), [
    'response.created',
    'response.in_progress',
    'response.output_item.added',
    'response.function_call_arguments.done',
    'response.output_item.done',
    'response.completed',
  ]);
  assert.equal(final.output.length, 1);
  assert.equal(final.output[0].type, 'function_call');
  assert.equal(final.output[0].call_id, 'call_emulator_weather');
  assert.equal(final.output[0].arguments, '{"location":"Paris"}');
});

for (const [name, client] of CLIENTS) {
  test(`errors (${name}): an unknown deployment is the SDK NotFoundError with its code`, async () => {
    await assert.rejects(client().responses.create({ ...FRENCH, model: 'no-such-deployment' }), (e) => {
      assert.ok(e instanceof OpenAI.NotFoundError);
      assert.equal(e.status, 404);
      assert.equal(e.code, name === 'azure' ? 'DeploymentNotFound' : 'model_not_found');
      return true;
    });
  });

  test(`errors (${name}): an invalid body is the SDK BadRequestError with param and code`, async () => {
    await assert.rejects(client().responses.create({ model: 'gpt-4o', input: 5 }), (e) => {
      assert.ok(e instanceof OpenAI.BadRequestError);
      assert.equal(e.status, 400);
      assert.equal(e.code, 'invalid_type');
      assert.equal(e.param, 'input');
      assert.equal(e.message, "400 Invalid type for 'input': expected one of a string or array, but got integer instead.");
      return true;
    });
  });

  test(`errors (${name}): a 429 without retries is the SDK RateLimitError with retry-after`, async () => {
    await assert.rejects(client().responses.create(FRENCH, { headers: { 'x-emulator-fault': '429' } }), (e) => {
      assert.ok(e instanceof OpenAI.RateLimitError);
      assert.equal(e.status, 429);
      assert.equal(e.headers.get('retry-after'), '1');
      return true;
    });
  });

  test(`retries (${name}): two 429s with retry-after-ms, then the answer; three requests sent`, async () => {
    const id = unique();
    const response = await client({ maxRetries: 2 }).responses.create(FRENCH, {
      headers: { 'x-emulator-fault': '429-then-ok:2', 'x-emulator-fault-id': id, 'x-emulator-retry-after-ms': '20' },
    });
    assert.equal(response.output_text, "J'adore la programmation.");
    const sent = await requestsWithHeader('x-emulator-fault-id', id);
    assert.equal(sent.length, 3);
    assert.deepEqual(sent.map((r) => r.headers['x-stainless-retry-count']), ['0', '1', '2']);
  });
}

test('retries: a streamed request is retried on 429 too, then streams the answer', async () => {
  const id = unique();
  const stream = azureV1Preview({ maxRetries: 1 }).responses.stream(FRENCH, {
    headers: { 'x-emulator-fault': '429-then-ok:1', 'x-emulator-fault-id': id, 'x-emulator-retry-after-ms': '20' },
  });
  assert.equal((await stream.finalResponse()).output_text, "J'adore la programmation.");
  assert.equal((await requestsWithHeader('x-emulator-fault-id', id)).length, 2);
});

test('incomplete: max_output_tokens cuts the answer with status incomplete, created and streamed alike', async () => {
  const body = { ...FRENCH, max_output_tokens: 2 };
  const created = await azureV1Preview().responses.create(body);
  assert.equal(created.status, 'incomplete');
  assert.deepEqual(created.incomplete_details, { reason: 'max_output_tokens' });
  assert.equal(created.max_output_tokens, 2);
  assert.equal(created.output_text, "J'adore la");
  assert.equal(created.usage.output_tokens, 2);
  const stream = azureV1Preview().responses.stream(body);
  const types = [];
  for await (const event of stream) types.push(event.type);
  assert.equal(types.at(-1), 'response.incomplete');
  const final = await stream.finalResponse();
  assert.equal(final.status, 'incomplete');
  assert.equal(final.output_text, created.output_text);
});
