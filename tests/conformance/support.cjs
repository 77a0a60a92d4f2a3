// What every conformance case shares: the emulator's URL (from run.sh), the
// SDK clients pointed at it, and the emulator's control endpoints.
'use strict';
const { AzureOpenAI, OpenAI } = require('openai');
const { randomUUID } = require('node:crypto');

const url = process.env.CHAINPP_EMULATOR_URL;
if (!url || !/^http:\/\/127\.0\.0\.1:\d+$/.test(url))
  throw new Error('CHAINPP_EMULATOR_URL must be http://127.0.0.1:PORT (tests/conformance/run.sh sets it)');

const API_VERSION = '2024-10-21';
const API_KEY = 'test-key';
const TIMEOUT_MS = 30000;  // every request's bound (the SDK's default is 10 minutes)

// The SDK's Azure client on the dated paths (/openai/deployments/{name}/...?api-version=).
function azure(options = {}) {
  return new AzureOpenAI({ endpoint: url, apiKey: API_KEY, apiVersion: API_VERSION, maxRetries: 0, timeout: TIMEOUT_MS, ...options });
}

// The SDK's OpenAI client on Azure's v1 paths (/openai/v1/...), as Azure documents it.
function azureV1(options = {}) {
  return new OpenAI({ baseURL: `${url}/openai/v1/`, apiKey: API_KEY, maxRetries: 0, timeout: TIMEOUT_MS, ...options });
}

// The SDK's Azure client on Azure's v1 paths with api-version=preview, as the
// Responses API cases use it (/openai/v1/responses?api-version=preview).
function azureV1Preview(options = {}) {
  return new AzureOpenAI({ baseURL: `${url}/openai/v1/`, apiKey: API_KEY, apiVersion: 'preview', maxRetries: 0, timeout: TIMEOUT_MS, ...options });
}

// The SDK's OpenAI client on OpenAI's layout (/v1/..., Authorization: Bearer).
function openaiLayout(options = {}) {
  return new OpenAI({ baseURL: `${url}/v1`, apiKey: API_KEY, maxRetries: 0, timeout: TIMEOUT_MS, ...options });
}

// The parameters of the get_weather function the emulator.yaml answers call.
const WEATHER_PARAMETERS = {
  type: 'object',
  properties: { location: { type: 'string' } },
  required: ['location'],
  additionalProperties: false,
};

// A value no other case sends: marks a case's requests in the request log.
function unique(prefix = 'case') {
  return `${prefix}-${randomUUID()}`;
}

async function control(path, method = 'GET') {
  const response = await fetch(`${url}${path}`, { method, signal: AbortSignal.timeout(10000) });
  if (!response.ok) throw new Error(`${method} ${path}: ${response.status}`);
  return response.json();
}

// The requests the emulator recorded whose header `name` is `value`, oldest first.
async function requestsWithHeader(name, value) {
  const all = await control('/_emulator/requests');
  return all.filter((r) => r.headers[name] === value);
}

// Calls `fn` until it returns a truthy value, at most `attempts` times, `ms` apart.
async function poll(fn, attempts = 200, ms = 50) {
  for (let i = 0; i < attempts; ++i) {
    const v = await fn();
    if (v) return v;
    await new Promise((r) => setTimeout(r, ms));
  }
  throw new Error(`poll: still false after ${attempts} attempts`);
}

module.exports = { url, WEATHER_PARAMETERS, API_VERSION, API_KEY, azure, azureV1, azureV1Preview, openaiLayout, unique, control, requestsWithHeader, poll };
