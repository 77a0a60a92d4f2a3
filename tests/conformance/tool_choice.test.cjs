// Issue 19 item 1: tool_choice honoured ("none", "auto", "required", a named
// function), only declared tools called, arguments valid for the tool's
// parameters. The SDK's parse() with zodFunction tools checks the arguments
// against the zod schema (strict tools).
'use strict';
const { test } = require('node:test');
const assert = require('node:assert/strict');
const { zodFunction } = require('openai/helpers/zod');
const { z } = require('zod');
const { azure } = require('./support.cjs');

const Weather = z.object({ location: z.string() });
const Contact = z.object({
  name: z.string(),
  emails: z.array(z.object({ address: z.string(), primary: z.boolean() })),
  role: z.enum(['customer', 'supplier']),
  phone: z.string().nullable(),
});
const tools = [
  zodFunction({ name: 'get_weather', parameters: Weather }),
  zodFunction({ name: 'extract_contact', parameters: Contact }),
];
const WEATHER = [{ role: 'user', content: 'What is the weather in Paris?' }];
const PLAIN = [{ role: 'user', content: 'Hello there.' }];

test('tool_choice auto: the scripted call to a declared tool', async () => {
  const c = await azure().chat.completions.parse({ model: 'gpt-4o', messages: WEATHER, tools });
  const call = c.choices[0].message.tool_calls[0];
  assert.equal(c.choices[0].finish_reason, 'tool_calls');
  assert.equal(call.function.name, 'get_weather');
  assert.deepEqual(call.function.parsed_arguments, { location: 'Paris' });
});

test('tool_choice auto: a prompt nobody scripted a call for gets text', async () => {
  const c = await azure().chat.completions.create({ model: 'gpt-4o', messages: PLAIN, tools, tool_choice: 'auto' });
  assert.equal(c.choices[0].finish_reason, 'stop');
  assert.equal(c.choices[0].message.tool_calls, undefined);
  assert.equal(c.choices[0].message.content, "This is the emulator's answer to: Hello there.");
});

test('tool_choice none: text, never a call', async () => {
  const c = await azure().chat.completions.create({ model: 'gpt-4o', messages: WEATHER, tools, tool_choice: 'none' });
  assert.equal(c.choices[0].finish_reason, 'stop');
  assert.equal(c.choices[0].message.tool_calls, undefined);
  assert.equal(c.choices[0].message.content, 'It is sunny and 22 degrees in Paris.');
});

test('tool_choice required: a call even when none was scripted, with valid arguments', async () => {
  const c = await azure().chat.completions.parse({ model: 'gpt-4o', messages: PLAIN, tools: [tools[1]], tool_choice: 'required' });
  const call = c.choices[0].message.tool_calls[0];
  assert.equal(c.choices[0].finish_reason, 'tool_calls');
  assert.equal(c.choices[0].message.tool_calls.length, 1);
  assert.equal(call.type, 'function');
  assert.match(call.id, /^call_/);
  assert.equal(call.function.name, 'extract_contact');
  assert.deepEqual(Contact.parse(call.function.parsed_arguments), call.function.parsed_arguments);
  assert.equal(call.function.parsed_arguments.role, 'customer');
  assert.equal(call.function.parsed_arguments.emails.length, 1);
});

test('tool_choice named: that function is called, not the scripted one', async () => {
  const c = await azure().chat.completions.parse({
    model: 'gpt-4o',
    messages: WEATHER,
    tools,
    tool_choice: { type: 'function', function: { name: 'extract_contact' } },
  });
  const calls = c.choices[0].message.tool_calls;
  assert.equal(calls.length, 1);
  assert.equal(calls[0].function.name, 'extract_contact');
  assert.deepEqual(Contact.parse(calls[0].function.parsed_arguments), calls[0].function.parsed_arguments);
});

test('tool_choice named, streamed: the stream helper assembles the forced call', async () => {
  const stream = azure().chat.completions.stream({
    model: 'gpt-4o',
    messages: PLAIN,
    tools,
    tool_choice: { type: 'function', function: { name: 'get_weather' } },
  });
  const final = await stream.finalChatCompletion();
  const call = final.choices[0].message.tool_calls[0];
  assert.equal(call.function.name, 'get_weather');
  assert.deepEqual(JSON.parse(call.function.arguments), { location: 'example' });
});

test('only declared tools: a scripted call to an undeclared tool is not made', async () => {
  const c = await azure().chat.completions.create({ model: 'gpt-4o', messages: WEATHER, tools: [tools[1]] });
  assert.equal(c.choices[0].finish_reason, 'stop');
  assert.equal(c.choices[0].message.tool_calls, undefined);
  assert.equal(c.choices[0].message.content, 'It is sunny and 22 degrees in Paris.');
});

test('no tools declared: the scripted call is not made', async () => {
  const c = await azure().chat.completions.create({ model: 'gpt-4o', messages: WEATHER });
  assert.equal(c.choices[0].message.tool_calls, undefined);
  assert.equal(c.choices[0].message.content, 'It is sunny and 22 degrees in Paris.');
});
