// Issue 19 item 4: requests are checked against the official request schema
// (vendored, 2024-10-21) and the service's semantic rules; a bad one is a 400
// with the service's error body (code, message, param, type), which the SDK
// raises as BadRequestError. An unknown api-version is 404 Resource not found.
'use strict';
const { test } = require('node:test');
const assert = require('node:assert/strict');
const OpenAI = require('openai');
const { azure, unique, requestsWithHeader } = require('./support.cjs');

const HI = [{ role: 'user', content: 'Hello there.' }];

// Sends `body` and expects the SDK's BadRequestError with `error` as its body.
async function rejects400(body, error) {
  const id = unique();
  await assert.rejects(
    azure({ maxRetries: 2 }).chat.completions.create({ model: 'gpt-4o', ...body }, { headers: { 'x-case': id } }),
    (e) => {
      assert.ok(e instanceof OpenAI.BadRequestError, `${e}`);
      assert.equal(e.status, 400);
      assert.deepEqual(e.error, error);
      assert.equal(e.code, error.code);
      assert.equal(e.param, error.param);
      assert.equal(e.type, error.type);
      return true;
    },
  );
  // A 400 is not retried.
  assert.equal((await requestsWithHeader('x-case', id)).length, 1);
}

test('temperature above its maximum', async () => {
  await rejects400({ messages: HI, temperature: 5 }, {
    code: 'decimal_above_max_value',
    message: "Invalid 'temperature': decimal above maximum value. Expected a value <= 2, but got 5 instead.",
    param: 'temperature',
    type: 'invalid_request_error',
  });
});

test('n below its minimum', async () => {
  await rejects400({ messages: HI, n: 0 }, {
    code: 'integer_below_min_value',
    message: "Invalid 'n': integer below minimum value. Expected a value >= 1, but got 0 instead.",
    param: 'n',
    type: 'invalid_request_error',
  });
});

test('a parameter of the wrong type', async () => {
  await rejects400({ messages: HI, top_p: 'high' }, {
    code: 'invalid_type',
    message: "Invalid type for 'top_p': expected a decimal, but got a string instead.",
    param: 'top_p',
    type: 'invalid_request_error',
  });
});

test('an unknown top-level parameter', async () => {
  await rejects400({ messages: HI, temprature: 0.5 }, {
    code: null,
    message: 'Unrecognized request argument supplied: temprature',
    param: null,
    type: 'invalid_request_error',
  });
});

test('a message with an unknown role', async () => {
  await rejects400({ messages: [{ role: 'robot', content: 'beep' }] }, {
    code: 'invalid_value',
    message: "Invalid value: 'robot'. Supported values are: 'system', 'assistant', 'user', 'function', 'tool', and 'developer'.",
    param: 'messages[0].role',
    type: 'invalid_request_error',
  });
});

test('a tool message without a preceding assistant tool_calls', async () => {
  await rejects400({ messages: [...HI, { role: 'tool', tool_call_id: 'call_1', content: '22' }] }, {
    code: null,
    message: "Invalid parameter: messages with role 'tool' must be a response to a preceeding message with 'tool_calls'.",
    param: 'messages.[1].role',
    type: 'invalid_request_error',
  });
});

test('an assistant tool_calls message without its tool messages', async () => {
  const call = { id: 'call_9', type: 'function', function: { name: 'get_weather', arguments: '{}' } };
  await rejects400({ messages: [...HI, { role: 'assistant', content: null, tool_calls: [call] }, ...HI] }, {
    code: null,
    message:
      "An assistant message with 'tool_calls' must be followed by tool messages responding to each 'tool_call_id'. " +
      'The following tool_call_ids did not have response messages: call_9',
    param: 'messages.[1].role',
    type: 'invalid_request_error',
  });
});

test('tool_choice without tools', async () => {
  await rejects400({ messages: HI, tool_choice: 'required' }, {
    code: null,
    message: "Invalid value for 'tool_choice': 'tool_choice' is only allowed when 'tools' are specified.",
    param: 'tool_choice',
    type: 'invalid_request_error',
  });
});

test('stream_options without stream', async () => {
  await rejects400({ messages: HI, stream_options: { include_usage: true } }, {
    code: null,
    message: "The 'stream_options' parameter is only allowed when 'stream' is enabled.",
    param: 'stream_options',
    type: 'invalid_request_error',
  });
});

test('a body the schema rejects deeper down (a tool without a function)', async () => {
  await rejects400({ messages: HI, tools: [{ type: 'function' }] }, {
    code: 'invalid_value',
    message: "Invalid value for 'tools[0]': it does not match the request schema (required at #/definitions/chatCompletionTool).",
    param: 'tools[0]',
    type: 'invalid_request_error',
  });
});

test('valid: developer messages, stream_options with stream, max_completion_tokens, seed', async () => {
  const stream = await azure().chat.completions.create({
    model: 'gpt-4o',
    messages: [{ role: 'developer', content: 'Be brief.' }, ...HI],
    stream: true,
    stream_options: { include_usage: true },
    max_completion_tokens: 100,
    seed: 7,
    temperature: 2,
  });
  let text = '';
  for await (const chunk of stream) for (const c of chunk.choices) text += c.delta?.content ?? '';
  assert.equal(text, "This is the emulator's answer to: Hello there.");
});

test('an unknown api-version is 404 Resource not found', async () => {
  await assert.rejects(azure({ apiVersion: '2024-10-12' }).chat.completions.create({ model: 'gpt-4o', messages: HI }), (e) => {
    assert.ok(e instanceof OpenAI.NotFoundError);
    assert.equal(e.status, 404);
    assert.deepEqual(e.error, { code: '404', message: 'Resource not found' });
    return true;
  });
});
