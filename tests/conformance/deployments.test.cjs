// Issue 19 items 5, 6, 7 and 9: what a deployment answers with: its model
// name, Azure's annotations and headers, reasoning deployments' rules and
// usage, the content filter's modes.
'use strict';
const { test } = require('node:test');
const assert = require('node:assert/strict');
const OpenAI = require('openai');
const { azure } = require('./support.cjs');

const HI = [{ role: 'user', content: 'Hello there.' }];

test('model names: versioned for newer models, the base name for gpt-35-turbo', async () => {
  const names = {};
  for (const d of ['gpt-4o', 'gpt-4o-mini', 'gpt-35-turbo', 'o3-mini', 'custom-name'])
    names[d] = (await azure().chat.completions.create({ model: d, messages: HI })).model;
  assert.deepEqual(names, {
    'gpt-4o': 'gpt-4o-2024-08-06',
    'gpt-4o-mini': 'gpt-4o-mini-2024-07-18',
    'gpt-35-turbo': 'gpt-35-turbo',
    'o3-mini': 'o3-mini-2025-01-31',
    'custom-name': 'gpt-4o-2024-11-20-custom',
  });
});

test('model names: stream chunks carry the same name', async () => {
  const stream = await azure().chat.completions.create({ model: 'gpt-4o-mini', messages: HI, stream: true });
  const models = new Set();
  for await (const chunk of stream) if (chunk.choices.length) models.add(chunk.model);
  assert.deepEqual([...models], ['gpt-4o-mini-2024-07-18']);
});

test('reasoning deployments: max_tokens is a BadRequestError with param max_tokens', async () => {
  await assert.rejects(azure().chat.completions.create({ model: 'o3-mini', messages: HI, max_tokens: 50 }), (e) => {
    assert.ok(e instanceof OpenAI.BadRequestError);
    assert.equal(e.status, 400);
    assert.equal(e.code, 'unsupported_parameter');
    assert.equal(e.param, 'max_tokens');
    assert.equal(e.type, 'invalid_request_error');
    assert.equal(e.message, "400 Unsupported parameter: 'max_tokens' is not supported with this model. Use 'max_completion_tokens' instead.");
    return true;
  });
});

test('reasoning deployments: a temperature other than 1 names its param', async () => {
  await assert.rejects(azure().chat.completions.create({ model: 'o3-mini', messages: HI, temperature: 0 }), (e) =>
    e instanceof OpenAI.BadRequestError && e.code === 'unsupported_value' && e.param === 'temperature');
});

test('reasoning deployments: usage carries the reasoning tokens, inside completion_tokens', async () => {
  const c = await azure().chat.completions.create({ model: 'o3-mini', messages: HI, max_completion_tokens: 500 });
  assert.equal(c.usage.completion_tokens_details.reasoning_tokens, 64);
  assert.equal(c.usage.completion_tokens, 64 + 8);  // 8 words of text
  assert.equal(c.usage.total_tokens, c.usage.prompt_tokens + c.usage.completion_tokens);
});

test('annotations: jailbreak in prompt_filter_results, protected material in the choice (gpt-4o)', async () => {
  const { data: c, response } = await azure().chat.completions.create({ model: 'gpt-4o', messages: HI }).withResponse();
  const none = { filtered: false, detected: false };
  assert.deepEqual(c.prompt_filter_results[0].content_filter_results.jailbreak, none);
  assert.deepEqual(c.choices[0].content_filter_results.protected_material_code, none);
  assert.deepEqual(c.choices[0].content_filter_results.protected_material_text, none);
  assert.deepEqual(c.usage.prompt_tokens_details, { cached_tokens: 0 });
  assert.deepEqual(c.usage.completion_tokens_details, { reasoning_tokens: 0 });
  assert.equal(response.headers.get('x-ratelimit-limit-requests'), '100');
  assert.equal(response.headers.get('x-ratelimit-limit-tokens'), '100000');
  assert.equal(response.headers.get('x-ratelimit-remaining-requests'), '99');
  assert.equal(response.headers.get('x-ratelimit-remaining-tokens'), '99000');
});

test('annotations: gpt-35-turbo answers with the four categories and no token details', async () => {
  const c = await azure().chat.completions.create({ model: 'gpt-35-turbo', messages: HI });
  assert.deepEqual(Object.keys(c.choices[0].content_filter_results), ['hate', 'self_harm', 'sexual', 'violence']);
  assert.equal(c.usage.completion_tokens_details, undefined);
});

// The chunks of a streamed "Write a violent story." on `deployment`: the text, and the chunks flagging violence.
async function filteredStream(deployment) {
  const stream = await azure().chat.completions.create({
    model: deployment, messages: [{ role: 'user', content: 'Write a violent story.' }], stream: true,
  });
  let text = '';
  const flagged = [];
  let finishAt = -1;
  let i = 0;
  for await (const chunk of stream) {
    for (const c of chunk.choices) {
      text += c.delta?.content ?? '';
      if (c.finish_reason) finishAt = i;
      if (c.content_filter_results?.violence?.filtered) flagged.push({ at: i, choice: c });
    }
    ++i;
  }
  return { text, flagged, finishAt };
}

test('content filter, buffered (default): the flagged segment is withheld, the finish chunk flags it', async () => {
  const { text, flagged, finishAt } = await filteredStream('gpt-4o');
  assert.equal(text, 'Once upon a time');
  assert.equal(flagged.length, 1);
  assert.equal(flagged[0].at, finishAt);
  assert.equal(flagged[0].choice.finish_reason, 'content_filter');
});

test('content filter, asynchronous (per deployment): sent first, annotated after the finish chunk', async () => {
  const { text, flagged, finishAt } = await filteredStream('gpt-4o-async');
  assert.equal(text, 'Once upon a time');
  assert.equal(flagged.length, 1);
  assert.ok(flagged[0].at > finishAt, `annotation at ${flagged[0].at}, finish at ${finishAt}`);
  assert.ok(flagged[0].choice.content_filter_offsets.end_offset > 0);
});
