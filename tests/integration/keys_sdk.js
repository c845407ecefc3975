// keys_sdk.js: the official openai npm client against tokilake with API
// keys (keys-sdk.sh starts everything). Usage:
//   node keys_sdk.js OPENAI_MODULE_DIR BASE_URL GOOD_KEY DISABLED_KEY FAMILY_KEY \
//       RPM1_KEY BUDGET1_KEY
// (RPM1_KEY: rpm 1; BUDGET1_KEY: tokens_per_day 1)
// Prints one "ok: ..." line per check; exits 1 at the first failure.
'use strict';
const [mod, base, good, disabled, fam, rpm1, budget1] = process.argv.slice(2);
const OpenAI = require(mod);

function ok(what) { console.log('ok: ' + what); }
function die(what) { console.log('FAIL: ' + what); process.exit(1); }
function client(key) { return new OpenAI({ apiKey: key, baseURL: base, maxRetries: 0, timeout: 10000 }); }
const chat = { model: 'lab:qwen3:0.6b', messages: [{ role: 'user', content: 'hi' }] };

async function expectError(what, cls, status, code, fn) {
	try {
		await fn();
	} catch (e) {
		if (!(e instanceof cls))
			die(`${what}: ${e && e.constructor && e.constructor.name} instead of ${cls.name}: ${e}`);
		if (e.status !== status || e.code !== code)
			die(`${what}: status ${e.status} code ${e.code}, want ${status} ${code}`);
		ok(`${what}: ${cls.name} (${status} ${code})`);
		return e;
	}
	die(`${what}: no error`);
}

(async () => {
	const r = await client(good).chat.completions.create(chat);
	if (!r.choices || !r.choices[0].message.content.startsWith('mock reply'))
		die('chat with a good key: ' + JSON.stringify(r));
	ok('chat with a good key');
	let n = 0;
	const s = await client(good).chat.completions.create({ ...chat, stream: true });
	for await (const c of s) n++;
	if (n < 2) die('stream with a good key: ' + n + ' chunks');
	ok(`stream with a good key: ${n} chunks`);
	const ids = [];
	for await (const m of client(fam).models.list()) ids.push(m.id);
	if (ids.join(',') !== 'lab:llama3:8b') die('models.list with *:llama3*: ' + ids.join(','));
	ok('models.list lists only what the key may use: ' + ids.join(','));

	await expectError('a wrong key', OpenAI.AuthenticationError, 401, 'invalid_api_key',
	    () => client('sk-tlk-' + '0'.repeat(64)).chat.completions.create(chat));
	await expectError('a wrong key on models.list', OpenAI.AuthenticationError, 401,
	    'invalid_api_key', () => client('sk-tlk-x').models.list());
	await expectError('a disabled key', OpenAI.PermissionDeniedError, 403, 'key_disabled',
	    () => client(disabled).chat.completions.create(chat));
	await expectError('a model the key may not use', OpenAI.NotFoundError, 404,
	    'model_not_found', () => client(fam).chat.completions.create(chat));
	await expectError('models.retrieve of a model the key may not use', OpenAI.NotFoundError,
	    404, 'model_not_found', () => client(fam).models.retrieve('lab:qwen3:0.6b'));
	const m = await client(fam).models.retrieve('lab:llama3:8b');
	if (m.id !== 'lab:llama3:8b') die('models.retrieve: ' + JSON.stringify(m));
	ok('models.retrieve of an allowed model');

	// 429s: RateLimitError, with Retry-After for a client to honour
	await client(rpm1).chat.completions.create(chat);
	let e = await expectError('rpm 1, a second request', OpenAI.RateLimitError, 429,
	    'rate_limit_exceeded', () => client(rpm1).chat.completions.create(chat));
	if (e.error.type !== 'requests' || !(Number(e.headers['retry-after']) >= 1))
		die(`rpm 429: type ${e.error.type}, retry-after ${e.headers['retry-after']}`);
	ok(`rpm 429: type requests, retry-after ${e.headers['retry-after']}`);
	// the budget is charged when the first answer's usage reaches agentd:
	// ask until it is (each answer charges more)
	for (let i = 0; ; i++) {
		try {
			await client(budget1).chat.completions.create(chat);
		} catch (err) {
			e = err;
			break;
		}
		if (i === 100) die('tokens_per_day 1: still served after 100 requests');
		await new Promise((r) => setTimeout(r, 100));
	}
	if (!(e instanceof OpenAI.RateLimitError) || e.status !== 429 ||
	    e.code !== 'insufficient_quota' || e.error.type !== 'insufficient_quota')
		die(`budget spent: ${e && e.constructor && e.constructor.name} ${e.status} ${e.code}: ${e}`);
	ok(`budget spent: RateLimitError (429 insufficient_quota), retry-after ${e.headers['retry-after']}`);
})().catch((e) => die('unexpected: ' + e));
