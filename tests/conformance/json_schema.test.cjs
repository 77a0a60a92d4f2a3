// Issue 19 item 2: a json_schema answer nobody scripted validates against the
// requested schema for every feature strict mode accepts: anyOf, $ref into
// definitions/$defs (and recursion), enum, arrays of objects, nested required.
// The SDK's parse() checks each answer with the zod schema it came from.
'use strict';
const { test } = require('node:test');
const assert = require('node:assert/strict');
const { zodResponseFormat } = require('openai/helpers/zod');
const { z } = require('zod');
const { azure, unique, requestsWithHeader } = require('./support.cjs');

async function parse(schema, name) {
  const id = unique();
  const completion = await azure().chat.completions.parse(
    { model: 'gpt-4o', messages: [{ role: 'user', content: 'Fill in the form.' }], response_format: zodResponseFormat(schema, name) },
    { headers: { 'x-case': id } },
  );
  const [sent] = await requestsWithHeader('x-case', id);
  const message = completion.choices[0].message;
  assert.equal(completion.choices[0].finish_reason, 'stop');
  assert.deepEqual(schema.parse(JSON.parse(message.content)), message.parsed);
  return { parsed: message.parsed, sent: sent.body.response_format.json_schema.schema };
}

test('json_schema: a union (anyOf) of objects gets one valid branch', async () => {
  const Shape = z.object({
    shape: z.union([
      z.object({ kind: z.literal('circle'), radius: z.number() }),
      z.object({ kind: z.literal('square'), side: z.number() }),
    ]),
  });
  const { parsed, sent } = await parse(Shape, 'shape');
  assert.equal(sent.properties.shape.anyOf.length, 2);
  assert.deepEqual(parsed, { shape: { kind: 'circle', radius: 0 } });
});

test('json_schema: nullable members (anyOf with null) get a value, not null', async () => {
  const Person = z.object({ name: z.string().nullable(), age: z.number().int().nullable() });
  const { parsed, sent } = await parse(Person, 'person');
  assert.deepEqual(sent.properties.age.anyOf[1], { type: 'null' });
  assert.deepEqual(parsed, { name: 'example', age: 0 });
});

test('json_schema: $ref to a reused definition, enums and arrays of objects', async () => {
  const Item = z.object({ sku: z.string(), size: z.enum(['small', 'medium', 'large']), qty: z.number().int() }).meta({ id: 'Item' });
  const Order = z.object({ first: Item, items: z.array(Item), status: z.enum(['open', 'shipped']) });
  const { parsed, sent } = await parse(Order, 'order');
  assert.deepEqual(sent.properties.items.items, { $ref: '#/definitions/Item' });
  assert.deepEqual(parsed, {
    first: { sku: 'example', size: 'small', qty: 0 },
    items: [{ sku: 'example', size: 'small', qty: 0 }],
    status: 'open',
  });
});

test('json_schema: nested required members are all present', async () => {
  const Deep = z.object({ a: z.object({ b: z.object({ c: z.object({ d: z.boolean(), e: z.array(z.string()) }) }) }) });
  const { parsed } = await parse(Deep, 'deep');
  assert.deepEqual(parsed, { a: { b: { c: { d: true, e: ['example'] } } } });
});

test('json_schema: a recursive schema ends at its nullable exit', async () => {
  const Node = z.object({
    value: z.string(),
    get next() {
      return Node.nullable();
    },
  }).meta({ id: 'Node' });
  const List = z.object({ head: Node });
  const { parsed } = await parse(List, 'list');
  let depth = 0;
  for (let n = parsed.head; n; n = n.next) ++depth;
  assert.ok(depth >= 1 && depth <= 32, `depth ${depth}`);
});

test('json_schema: string formats and numeric bounds are honoured', async () => {
  const Event = z.object({
    when: z.iso.datetime(),
    contact: z.email(),
    seats: z.number().int().min(3).max(9),
    price: z.number().gt(10),
  });
  const { parsed } = await parse(Event, 'event');
  assert.deepEqual(parsed, { when: '2024-10-21T12:00:00Z', contact: 'user@example.com', seats: 3, price: 10.5 });
});
