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
