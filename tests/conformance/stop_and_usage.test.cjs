// Issue 19 item 3: stop sequences honoured (the answer ends before the first
// one, finish_reason stop) and the usage counts what was sent when stop or
// max_tokens cut the answer.
'use strict';
const { test } = require('node:test');
const assert = require('node:assert/strict');
const { azure } = require('./support.cjs');

// Scripted in emulator.yaml: "J'adore la programmation." with usage 31 + 8.
const FRENCH = [
  { role: 'system', content: 'Translate into French.' },
  { role: 'user', content: 'I love programming.' },
];

test('stop: the answer ends before the stop sequence', async () => {
  const c = await azure().chat.completions.create({ model: 'gpt-4o', messages: FRENCH, stop: ['prog'] });
  assert.equal(c.choices[0].message.content, "J'adore la ");
  assert.equal(c.choices[0].finish_reason, 'stop');
  assert.deepEqual([c.usage.prompt_tokens, c.usage.completion_tokens, c.usage.total_tokens], [31, 3, 34]);
});

test('stop: the earliest of several sequences wins', async () => {
  const c = await azure().chat.completions.create({ model: 'gpt-4o', messages: FRENCH, stop: ['mation', ' la'] });
  assert.equal(c.choices[0].message.content, "J'adore");
  assert.equal(c.usage.completion_tokens, 1);
});

test('stop: streamed, the deltas end before it and the usage chunk agrees', async () => {
  const stream = await azure().chat.completions.create({
    model: 'gpt-4o', messages: FRENCH, stop: 'prog', stream: true, stream_options: { include_usage: true },
  });
  let text = '';
  let usage = null;
  let finish = null;
  for await (const chunk of stream) {
    for (const ch of chunk.choices) {
      text += ch.delta?.content ?? '';
      finish = ch.finish_reason ?? finish;
    }
    usage = chunk.usage ?? usage;
  }
  assert.equal(text, "J'adore la ");
  assert.equal(finish, 'stop');
  assert.equal(usage.completion_tokens, 3);
});

test('max_tokens: the answer is cut, finish_reason length, usage counts what was sent', async () => {
  const c = await azure().chat.completions.create({ model: 'gpt-4o', messages: FRENCH, max_tokens: 2 });
  assert.equal(c.choices[0].message.content, "J'adore la");
  assert.equal(c.choices[0].finish_reason, 'length');
  assert.deepEqual([c.usage.prompt_tokens, c.usage.completion_tokens, c.usage.total_tokens], [31, 2, 33]);
});

test('max_tokens larger than the answer: the scripted usage stands', async () => {
  const c = await azure().chat.completions.create({ model: 'gpt-4o', messages: FRENCH, max_tokens: 50 });
  assert.equal(c.choices[0].finish_reason, 'stop');
  assert.equal(c.usage.completion_tokens, 8);
});
