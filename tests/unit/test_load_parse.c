/*
 * test_load_parse: tokiame's readers of a backend's own load
 * (load_parse.c) on sample bodies written in each format (vLLM v0 and v1,
 * SGLang, llama.cpp /metrics and /slots, Ollama /api/ps), on malformed
 * and hostile ones, and on bodies past the bounds.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "load_parse.h"
#include "check.h"

static struct load_report rep;
static char why[256];

static int
metrics(const char *text)
{
	why[0] = '\0';
	return load_parse_metrics(text, strlen(text), &rep, why, sizeof(why));
}

static const struct load_sample *
get(const char *model)
{
	return load_report_find(&rep, model);
}

static void
test_vllm(void)
{
	const struct load_sample *s;
	/* v0: gpu_cache_usage_perc; floats with a trailing .0; HELP/TYPE */
	const char *v0 =
	    "# HELP vllm:num_requests_running Number of requests currently running on GPU.\n"
	    "# TYPE vllm:num_requests_running gauge\n"
	    "vllm:num_requests_running{model_name=\"meta-llama/Llama-3.1-8B\"} 3.0\n"
	    "# HELP vllm:num_requests_waiting Number of requests waiting to be processed.\n"
	    "# TYPE vllm:num_requests_waiting gauge\n"
	    "vllm:num_requests_waiting{model_name=\"meta-llama/Llama-3.1-8B\"} 7.0\n"
	    "vllm:num_requests_swapped{model_name=\"meta-llama/Llama-3.1-8B\"} 0.0\n"
	    "vllm:gpu_cache_usage_perc{model_name=\"meta-llama/Llama-3.1-8B\"} 0.4216\n"
	    "vllm:time_to_first_token_seconds_bucket{le=\"0.001\",model_name=\"meta-llama/Llama-3.1-8B\"} 0.0\n";
	/* v1: kv_cache_usage_perc, an engine label, two engines add up, CRLF */
	const char *v1 =
	    "vllm:num_requests_running{engine=\"0\",model_name=\"qwen\"} 2.0\r\n"
	    "vllm:num_requests_running{engine=\"1\",model_name=\"qwen\"} 1.0\r\n"
	    "vllm:num_requests_waiting{engine=\"0\",model_name=\"qwen\"} 4\r\n"
	    "vllm:num_requests_waiting{engine=\"1\",model_name=\"qwen\"} 0\r\n"
	    "vllm:kv_cache_usage_perc{engine=\"0\",model_name=\"qwen\"} 0.25\r\n"
	    "vllm:kv_cache_usage_perc{engine=\"1\",model_name=\"qwen\"} 0.5\r\n"
	    "vllm:num_requests_running{model_name=\"other\"} 1e1 1712345678000\n";

	CHECK(metrics(v0) == 0);
	CHECK(rep.kind == LOAD_KIND_VLLM && rep.n == 1);
	s = get("meta-llama/Llama-3.1-8B");
	CHECK(s != NULL && s->waiting == 7 && s->running == 3 && s->kv_permille == 422 &&
	    s->has_waiting && s->has_running && s->has_kv);
	CHECK(get("nope") == NULL);

	CHECK(metrics(v1) == 0);
	CHECK(rep.kind == LOAD_KIND_VLLM && rep.n == 2);
	s = get("qwen");
	CHECK(s != NULL && s->waiting == 4 && s->running == 3 && s->kv_permille == 500);
	s = get("other");
	CHECK(s != NULL && s->running == 10 && !s->has_waiting && !s->has_kv);
}

static void
test_sglang(void)
{
	const struct load_sample *s;
	const char *t =
	    "# HELP sglang:num_running_reqs The number of running requests.\n"
	    "# TYPE sglang:num_running_reqs gauge\n"
	    "sglang:num_running_reqs{model_name=\"meta-llama/Llama-3.1-8B-Instruct\",tp_rank=\"0\"} 5.0\n"
	    "sglang:num_queue_reqs{model_name=\"meta-llama/Llama-3.1-8B-Instruct\",tp_rank=\"0\"} 12.0\n"
	    "sglang:token_usage{model_name=\"meta-llama/Llama-3.1-8B-Instruct\",tp_rank=\"0\"} 0.28\n"
	    "sglang:cache_hit_rate{model_name=\"meta-llama/Llama-3.1-8B-Instruct\"} 0.0075\n";
	/* older SGLang labelled with name= */
	const char *old = "sglang:num_running_reqs{name=\"gemma\"} 2\n"
	    "sglang:num_queue_reqs{name=\"gemma\"} 1\n";

	CHECK(metrics(t) == 0 && rep.kind == LOAD_KIND_SGLANG && rep.n == 1);
	s = get("meta-llama/Llama-3.1-8B-Instruct");
	CHECK(s != NULL && s->waiting == 12 && s->running == 5 && s->kv_permille == 280);
	CHECK(metrics(old) == 0);
	s = get("gemma");
	CHECK(s != NULL && s->waiting == 1 && s->running == 2);
}

static void
test_llamacpp_metrics(void)
{
	const struct load_sample *s;
	const char *t =
	    "# HELP llamacpp:prompt_tokens_total Number of prompt tokens processed.\n"
	    "# TYPE llamacpp:prompt_tokens_total counter\n"
	    "llamacpp:prompt_tokens_total 1234\n"
	    "llamacpp:kv_cache_usage_ratio 0.125\n"
	    "llamacpp:requests_processing 2\n"
	    "llamacpp:requests_deferred 6\n";

	CHECK(metrics(t) == 0 && rep.kind == LOAD_KIND_LLAMACPP && rep.n == 1);
	/* no model label: the whole backend, found for any model */
	s = get("whatever-model");
	CHECK(s != NULL && s->model[0] == '\0' && s->waiting == 6 && s->running == 2 &&
	    s->kv_permille == 125);
}

static void
test_metrics_malformed(void)
{
	const struct load_sample *s;
	char *big;
	size_t n;

	/* nothing of ours */
	CHECK(metrics("") == -1 && why[0] != '\0');
	CHECK(metrics("# only comments\n# TYPE x gauge\n") == -1);
	CHECK(metrics("process_cpu_seconds_total 12.5\n") == -1);
	/* malformed lines are skipped, good ones kept */
	CHECK(metrics("vllm:num_requests_waiting{model_name=\"a\" 3\n"
	    "vllm:num_requests_waiting{model_name=\"a\"}\n"
	    "vllm:num_requests_waiting{model_name=\"a\"} abc\n"
	    "vllm:num_requests_waiting{model_name=\"a\"}3\n"
	    "vllm:num_requests_waiting{model_name=a} 3\n"
	    "vllm:num_requests_waiting{model_name=\"a\",} 2\n") == 0);
	s = get("a");
	CHECK(s != NULL && s->waiting == 2);
	/* NaN is ignored, negatives read 0, huge values clamp, +Inf too */
	CHECK(metrics("vllm:num_requests_waiting{model_name=\"a\"} NaN\n"
	    "vllm:num_requests_running{model_name=\"a\"} -4\n"
	    "vllm:kv_cache_usage_perc{model_name=\"a\"} 7.5\n"
	    "vllm:num_requests_waiting{model_name=\"b\"} 1e30\n"
	    "vllm:num_requests_waiting{model_name=\"b\"} +Inf\n") == 0);
	s = get("a");
	CHECK(s != NULL && !s->has_waiting && s->running == 0 && s->kv_permille == 1000);
	s = get("b");
	CHECK(s != NULL && s->waiting == UINT32_MAX);
	/* escapes in the model label */
	CHECK(metrics("vllm:num_requests_waiting{model_name=\"q\\\"x\\\\y\"} 1\n") == 0);
	CHECK(get("q\"x\\y") != NULL);
	/* a NUL inside a label: skipped, not cut */
	{
		static const char t[] = "vllm:num_requests_waiting{model_name=\"a\0b\"} 1\n"
		    "vllm:num_requests_waiting{model_name=\"c\"} 1\n";
		CHECK(load_parse_metrics(t, sizeof(t) - 1, &rep, why, sizeof(why)) == 0);
		CHECK(rep.n == 1 && get("c") != NULL);
	}
	/* one family: sglang lines in a vLLM body are not mixed in */
	CHECK(metrics("vllm:num_requests_waiting{model_name=\"a\"} 1\n"
	    "sglang:num_queue_reqs{model_name=\"a\"} 50\n") == 0);
	CHECK(rep.kind == LOAD_KIND_VLLM && get("a")->waiting == 1);
	/* a model name too long is skipped */
	n = LOAD_MODEL_MAX + 100;
	big = malloc(n + 200);
	strcpy(big, "vllm:num_requests_waiting{model_name=\"");
	memset(big + strlen(big), 'm', LOAD_MODEL_MAX + 1);
	big[39 + LOAD_MODEL_MAX] = '\0';
	strcat(big, "\"} 1\n");
	CHECK(metrics(big) == -1);
	free(big);
	/* more than LOAD_MAX_MODELS models: the first ones, truncated */
	{
		size_t cap = 100 * 64, off = 0;
		char *t = malloc(cap);
		for (int i = 0; i < LOAD_MAX_MODELS + 10; i++)
			off += (size_t)snprintf(t + off, cap - off,
			    "vllm:num_requests_waiting{model_name=\"m%d\"} %d\n", i, i);
		CHECK(metrics(t) == 0 && rep.n == LOAD_MAX_MODELS && rep.truncated);
		CHECK(get("m0") != NULL && get("m63") != NULL && get("m64") == NULL);
		free(t);
	}
	/* over LOAD_BODY_MAX: refused whole */
	n = LOAD_BODY_MAX + 1;
	big = malloc(n);
	memset(big, '#', n);
	memcpy(big, "vllm:num_requests_waiting 1\n", 28);
	CHECK(load_parse_metrics(big, n, &rep, why, sizeof(why)) == -1 && strstr(why, "larger"));
	/* at the bound it is read */
	CHECK(load_parse_metrics(big, LOAD_BODY_MAX, &rep, why, sizeof(why)) == 0);
	free(big);
	/* no newline at the end, lone \r, tabs */
	CHECK(metrics("vllm:num_requests_running{model_name=\"t\"}\t9") == 0 && get("t")->running == 9);
}

static int
slots(const char *text)
{
	why[0] = '\0';
	return load_parse_slots(text, strlen(text), &rep, why, sizeof(why));
}

static void
test_slots(void)
{
	const struct load_sample *s;
	/* newer server: is_processing; nested objects carry keys that must
	 * not count */
	const char *t =
	    "[{\"id\":0,\"id_task\":12,\"n_ctx\":4096,\"is_processing\":true,"
	    "\"params\":{\"is_processing\":false,\"state\":0},\"next_token\":{\"has_next_token\":true}},"
	    "{\"id\":1,\"id_task\":-1,\"is_processing\":false,\"params\":{\"is_processing\":true}},"
	    "{\"id\":2,\"is_processing\":true,\"prompt\":\"[{\\\"x\\\"\"}]";
	/* older server: state 0 idle, 1 processing */
	const char *o = "[{\"id\":0,\"state\":1},{\"id\":1,\"state\":0},{\"id\":2,\"state\":1},"
	    "{\"id\":3,\"state\":0,\"is_processing\":false}]";

	CHECK(slots(t) == 0 && rep.kind == LOAD_KIND_LLAMACPP && rep.n == 1);
	s = get("any");
	CHECK(s != NULL && s->running == 2 && s->has_running && !s->has_waiting && !s->has_kv);
	CHECK(slots(o) == 0);
	CHECK(get("m")->running == 2);
	CHECK(slots("[]") == 0 && get("m")->running == 0);
	/* malformed */
	CHECK(slots("") == -1 && why[0] != '\0');
	CHECK(slots("{\"slots\":[]}") == -1 && strstr(why, "array"));
	CHECK(slots("[{\"id\":0,") == -1);
	CHECK(slots("[1,2,3] x") == -1);
	CHECK(slots("[{\"is_processing\":tru}]") == -1);
	/* deep: refused, no recursion */
	{
		size_t n = 100000;
		char *d = malloc(2 * n + 1);
		memset(d, '[', n);
		memset(d + n, ']', n);
		d[2 * n] = '\0';
		CHECK(slots(d) == -1 && strstr(why, "deeper"));
		free(d);
	}
	{
		char *big = malloc(LOAD_BODY_MAX + 2);
		memset(big, ' ', LOAD_BODY_MAX + 1);
		big[0] = '[';
		big[LOAD_BODY_MAX] = ']';
		CHECK(load_parse_slots(big, LOAD_BODY_MAX + 1, &rep, why, sizeof(why)) == -1);
		CHECK(load_parse_slots(big + 1, LOAD_BODY_MAX, &rep, why, sizeof(why)) == -1);
		free(big);
	}
}

static void
test_ollama(void)
{
	const char *t =
	    "{\"models\":[{\"name\":\"llama3:latest\",\"model\":\"llama3:latest\",\"size\":5137025024,"
	    "\"digest\":\"365c0bd3\",\"details\":{\"name\":\"nested\",\"family\":\"llama\"},"
	    "\"expires_at\":\"2024-06-04T14:38:31.83753-07:00\",\"size_vram\":5137025024},"
	    "{\"model\":\"nomic-embed-text:latest\"},{\"size\":1}]}";

	why[0] = '\0';
	CHECK(load_parse_ollama_ps(t, strlen(t), &rep, why, sizeof(why)) == 0);
	CHECK(rep.kind == LOAD_KIND_OLLAMA && rep.n == 2);
	CHECK(get("llama3:latest") != NULL && get("nomic-embed-text:latest") != NULL);
	CHECK(get("nested") == NULL && get("mistral:latest") == NULL);
	CHECK(!get("llama3:latest")->has_running && !get("llama3:latest")->has_waiting);
	t = "{\"models\":[]}";
	CHECK(load_parse_ollama_ps(t, strlen(t), &rep, why, sizeof(why)) == 0 && rep.n == 0);
	t = "{}";
	CHECK(load_parse_ollama_ps(t, strlen(t), &rep, why, sizeof(why)) == 0 && rep.n == 0);
	t = "[]";
	CHECK(load_parse_ollama_ps(t, strlen(t), &rep, why, sizeof(why)) == -1 && why[0]);
	t = "{\"models\":[{\"name\":\"a\"}";
	CHECK(load_parse_ollama_ps(t, strlen(t), &rep, why, sizeof(why)) == -1 && rep.n == 0);
	/* "models" below the top is not the list */
	t = "{\"x\":{\"models\":[{\"name\":\"a\"}]}}";
	CHECK(load_parse_ollama_ps(t, strlen(t), &rep, why, sizeof(why)) == 0 && rep.n == 0);
}

int
main(void)
{
	test_vllm();
	test_sglang();
	test_llamacpp_metrics();
	test_metrics_malformed();
	test_slots();
	test_ollama();
	if (failures)
		fprintf(stderr, "%d failure(s)\n", failures);
	return failures != 0;
}
