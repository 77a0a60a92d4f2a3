// The basics through the official SDK's AzureOpenAI client: invoke, a stream
// with usage, tools streamed, chat.completions.parse with zod, errors as the
// SDK's error classes, retries on 429, the Files and Batch APIs.
'use strict';
const { test } = require('node:test');
const assert = require('node:assert/strict');
const OpenAI = require('openai');
const { toFile } = require('openai');
const { zodResponseFormat } = require('openai/helpers/zod');
const { z } = require('zod');
const { WEATHER_PARAMETERS, azure, azureV1, unique, requestsWithHeader, poll } = require('./support.cjs');

const FRENCH = [
  { role: 'system', content: 'Translate into French.' },
  { role: 'user', content: 'I love programming.' },
];

const WEATHER_TOOL = {
  type: 'function',
  function: {
    name: 'get_weather',
    description: 'The weather of a place.',
    parameters: WEATHER_PARAMETERS,
  },
};

test('invoke: chat.completions.create answers the scripted message with its usage', async () => {
  const completion = await azure().chat.completions.create({ model: 'gpt-4o', messages: FRENCH });
  assert.equal(completion.object, 'chat.completion');
  assert.match(completion.id, /^chatcmpl-/);
  assert.equal(completion.choices.length, 1);
  assert.equal(completion.choices[0].message.role, 'assistant');
  assert.equal(completion.choices[0].message.content, "J'adore la programmation.");
  assert.equal(completion.choices[0].finish_reason, 'stop');
  assert.deepEqual(completion.usage.prompt_tokens, 31);
  assert.deepEqual(completion.usage.completion_tokens, 8);
  assert.deepEqual(completion.usage.total_tokens, 39);
  assert.equal(completion.system_fingerprint, 'fp_emulator');
  assert.equal(completion.prompt_filter_results[0].prompt_index, 0);
  assert.equal(completion.choices[0].content_filter_results.violence.filtered, false);
});

test('invoke: the request goes to the deployment path with api-version and api-key', async () => {
  const id = unique();
  await azure().chat.completions.create({ model: 'gpt-4o', messages: FRENCH }, { headers: { 'x-case': id } });
  const [sent] = await requestsWithHeader('x-case', id);
  assert.equal(sent.method, 'POST');
  assert.equal(sent.uri, '/openai/deployments/gpt-4o/chat/completions?api-version=2024-10-21');
  assert.equal(sent.headers['api-key'], 'test-key');
  assert.deepEqual(sent.body, { model: 'gpt-4o', messages: FRENCH });
});

test('stream: the deltas join into the answer and the last chunk carries the usage', async () => {
  const stream = await azure().chat.completions.create({
    model: 'gpt-4o',
    messages: FRENCH,
    stream: true,
    stream_options: { include_usage: true },
  });
  let text = '';
  let finish = null;
  let usageChunks = [];
  let chunks = 0;
  for await (const chunk of stream) {
    // Azure's first chunk carries only the prompt's filter results, with an empty object and model.
    if (chunks++ === 0) {
      assert.equal(chunk.object, '');
      assert.deepEqual(chunk.choices, []);
      assert.equal(chunk.prompt_filter_results[0].content_filter_results.hate.filtered, false);
      continue;
    }
    assert.equal(chunk.object, 'chat.completion.chunk');
    for (const choice of chunk.choices) {
      if (choice.delta?.content) text += choice.delta.content;
      if (choice.finish_reason) finish = choice.finish_reason;
    }
    if (chunk.usage) usageChunks.push(chunk);
  }
  assert.equal(text, "J'adore la programmation.");
  assert.equal(finish, 'stop');
  assert.equal(usageChunks.length, 1);
  assert.deepEqual(usageChunks[0].choices, []);
  assert.equal(usageChunks[0].usage.prompt_tokens, 31);
  assert.equal(usageChunks[0].usage.completion_tokens, 8);
  assert.equal(usageChunks[0].usage.total_tokens, 39);
  assert.ok(chunks > 3);
});

test('stream: without include_usage no chunk carries usage', async () => {
  const stream = await azure().chat.completions.create({ model: 'gpt-4o', messages: FRENCH, stream: true });
  for await (const chunk of stream) assert.equal(chunk.usage ?? null, null);
});

test('tools streamed: the SDK stream helper assembles the tool call', async () => {
  const stream = azure().chat.completions.stream({
    model: 'gpt-4o',
    messages: [{ role: 'user', content: 'What is the weather in Paris?' }],
    tools: [WEATHER_TOOL],
    stream_options: { include_usage: true },
  });
  const final = await stream.finalChatCompletion();
  const choice = final.choices[0];
  assert.equal(choice.finish_reason, 'tool_calls');
  assert.equal(choice.message.content, null);
  assert.equal(choice.message.tool_calls.length, 1);
  assert.equal(choice.message.tool_calls[0].id, 'call_emulator_weather');
  assert.equal(choice.message.tool_calls[0].type, 'function');
  assert.equal(choice.message.tool_calls[0].function.name, 'get_weather');
  assert.equal(choice.message.tool_calls[0].function.arguments, '{"location":"Paris"}');
  assert.ok(final.usage.completion_tokens > 0);
});

test('tools: the tool result goes back and the model answers in text', async () => {
  const messages = [{ role: 'user', content: 'What is the weather in Paris?' }];
  const first = await azure().chat.completions.create({ model: 'gpt-4o', messages, tools: [WEATHER_TOOL] });
  const call = first.choices[0].message.tool_calls[0];
  messages.push(first.choices[0].message);
  messages.push({ role: 'tool', tool_call_id: call.id, content: '{"temperature":22}' });
  const second = await azure().chat.completions.create({ model: 'gpt-4o', messages, tools: [WEATHER_TOOL] });
  assert.equal(second.choices[0].finish_reason, 'stop');
  assert.equal(second.choices[0].message.content, 'It is sunny and 22 degrees in Paris.');
});

// A zod schema with a union, and a sub-schema used three times (its id makes
// the SDK send it once, under definitions, with $refs to it).
const Address = z.object({ street: z.string(), city: z.string() }).meta({ id: 'Address' });
const Contact = z.object({
  name: z.string(),
  home: Address,
  work: Address,
  reach: z.union([
    z.object({ kind: z.literal('email'), email: z.string() }),
    z.object({ kind: z.literal('phone'), number: z.string(), extension: z.number().int().nullable() }),
  ]),
  tags: z.array(z.enum(['friend', 'colleague', 'family'])),
  previous: z.array(Address),
});

test('parse: chat.completions.parse with a zod union and a reused sub-schema', async () => {
  const id = unique();
  const completion = await azure().chat.completions.parse(
    {
      model: 'gpt-4o',
      messages: [{ role: 'user', content: 'Extract the contact.' }],
      response_format: zodResponseFormat(Contact, 'contact'),
    },
    { headers: { 'x-case': id } },
  );
  const parsed = completion.choices[0].message.parsed;
  assert.notEqual(parsed, null);
  assert.deepEqual(Contact.parse(parsed), parsed);
  assert.equal(typeof parsed.home.city, 'string');
  assert.equal(typeof parsed.work.street, 'string');
  assert.equal(parsed.reach.kind, 'email');
  assert.equal(typeof parsed.previous[0].city, 'string');
  // The SDK sent a strict json_schema.
  const [sent] = await requestsWithHeader('x-case', id);
  assert.equal(sent.body.response_format.type, 'json_schema');
  assert.equal(sent.body.response_format.json_schema.name, 'contact');
  assert.equal(sent.body.response_format.json_schema.strict, true);
  const schema = sent.body.response_format.json_schema.schema;
  assert.deepEqual(schema.properties.home, { $ref: '#/definitions/Address' });
  assert.deepEqual(schema.properties.previous.items, { $ref: '#/definitions/Address' });
  assert.equal(schema.properties.reach.anyOf.length, 2);
});

test('errors: an unknown deployment is the SDK NotFoundError with its code', async () => {
  await assert.rejects(azure().chat.completions.create({ model: 'no-such-deployment', messages: FRENCH }), (e) => {
    assert.ok(e instanceof OpenAI.NotFoundError);
    assert.equal(e.status, 404);
    assert.equal(e.code, 'DeploymentNotFound');
    assert.match(e.message, /^404 The API deployment for this resource does not exist\./);
    return true;
  });
});

test('errors: a wrong key is the SDK AuthenticationError', async () => {
  await assert.rejects(azure({ apiKey: 'wrong-key' }).chat.completions.create({ model: 'gpt-4o', messages: FRENCH }), (e) => {
    assert.ok(e instanceof OpenAI.AuthenticationError);
    assert.equal(e.status, 401);
    assert.equal(e.code, '401');
    return true;
  });
});

test('errors: a filtered prompt is the SDK BadRequestError with code content_filter', async () => {
  const messages = [{ role: 'user', content: 'Tell me something violent.' }];
  await assert.rejects(azure().chat.completions.create({ model: 'gpt-4o', messages }), (e) => {
    assert.ok(e instanceof OpenAI.BadRequestError);
    assert.equal(e.status, 400);
    assert.equal(e.code, 'content_filter');
    assert.equal(e.param, 'prompt');
    assert.equal(e.error.innererror.code, 'ResponsibleAIPolicyViolation');
    assert.equal(e.error.innererror.content_filter_result.violence.filtered, true);
    return true;
  });
});

test('errors: 429 and 500 without retries are RateLimitError and InternalServerError', async () => {
  const client = azure();
  await assert.rejects(
    client.chat.completions.create({ model: 'gpt-4o', messages: FRENCH }, { headers: { 'x-emulator-fault': '429' } }),
    (e) => e instanceof OpenAI.RateLimitError && e.status === 429 && e.code === '429' &&
      e.headers.get('retry-after-ms') === '10',
  );
  await assert.rejects(
    client.chat.completions.create({ model: 'gpt-4o', messages: FRENCH }, { headers: { 'x-emulator-fault': '500' } }),
    (e) => e instanceof OpenAI.InternalServerError && e.status === 500 && e.code === 'InternalServerError',
  );
});

test('retries: two 429s with retry-after-ms, then the answer; three requests sent', async () => {
  const id = unique();
  const completion = await azure({ maxRetries: 2 }).chat.completions.create(
    { model: 'gpt-4o', messages: FRENCH },
    { headers: { 'x-emulator-fault': '429-then-ok:2', 'x-emulator-fault-id': id, 'x-emulator-retry-after-ms': '20' } },
  );
  assert.equal(completion.choices[0].message.content, "J'adore la programmation.");
  const sent = await requestsWithHeader('x-emulator-fault-id', id);
  assert.equal(sent.length, 3);
  assert.deepEqual(sent.map((r) => r.headers['x-stainless-retry-count']), ['0', '1', '2']);
});

test('retries: with maxRetries 1 the second 429 reaches the caller after two requests', async () => {
  const id = unique();
  await assert.rejects(
    azure({ maxRetries: 1 }).chat.completions.create(
      { model: 'gpt-4o', messages: FRENCH },
      { headers: { 'x-emulator-fault': '429-then-ok:2', 'x-emulator-fault-id': id } },
    ),
    (e) => e instanceof OpenAI.RateLimitError,
  );
  assert.equal((await requestsWithHeader('x-emulator-fault-id', id)).length, 2);
});

// Uploads a batch input, runs the batch and reads its output, through `client`.
async function runBatch(client, prefix) {
  const lines = ['one', 'two'].map((n) =>
    JSON.stringify({
      custom_id: `${prefix}-${n}`,
      method: 'POST',
      url: '/chat/completions',
      body: { model: 'gpt-4o', messages: [{ role: 'system', content: 'Translate into French.' }, { role: 'user', content: 'I love programming.' }] },
    }),
  );
  const file = await client.files.create({
    file: await toFile(Buffer.from(lines.join('\n') + '\n'), `${prefix}.jsonl`),
    purpose: 'batch',
  });
  assert.equal(file.object, 'file');
  assert.equal(file.purpose, 'batch');
  assert.equal(file.filename, `${prefix}.jsonl`);
  assert.equal((await client.files.retrieve(file.id)).id, file.id);
  const batch = await client.batches.create({
    input_file_id: file.id,
    endpoint: '/chat/completions',
    completion_window: '24h',
  });
  assert.equal(batch.object, 'batch');
  assert.equal(batch.input_file_id, file.id);
  const done = await poll(async () => {
    const b = await client.batches.retrieve(batch.id);
    return ['completed', 'failed', 'cancelled', 'expired'].includes(b.status) && b;
  });
  assert.equal(done.status, 'completed');
  assert.deepEqual(done.request_counts, { total: 2, completed: 2, failed: 0 });
  const listed = await client.batches.list();
  assert.ok(listed.data.some((b) => b.id === batch.id));
  const output = await (await client.files.content(done.output_file_id)).text();
  const results = output.trim().split('\n').map((l) => JSON.parse(l));
  assert.deepEqual(results.map((r) => r.custom_id), [`${prefix}-one`, `${prefix}-two`]);
  for (const r of results) {
    assert.equal(r.response.status_code, 200);
    assert.equal(r.response.body.choices[0].message.content, "J'adore la programmation.");
    assert.equal(r.error, null);
  }
}

test('files and batches: the dated paths (/openai/files?api-version=)', async () => {
  await runBatch(azure(), unique('dated'));
});

test('files and batches: the v1 paths (/openai/v1/files)', async () => {
  await runBatch(azureV1(), unique('v1'));
});

// Responses API cases (responses.create / responses.stream) go in
// responses.test.cjs once the emulator serves /openai/v1/responses.
