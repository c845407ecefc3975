/*
 * link_refused: see link_refused.h. Why a list is not refused whole: an
 * agent whose one odd model name made every model of it vanish (the old
 * behaviour) serves nothing and is told nothing; dropping only the bad
 * ids keeps the rest routable and the Control message says what to fix.
 */
#include "config.h"

#include <stdio.h>
#include <string.h>

#include "link_internal.h"
#include "link_refused.h"
#include "log.h"

const char *
link_model_refusal(const Tokilake__V1__Model *m)
{
	size_t len;

	if (m->id == NULL || (len = strlen(m->id)) == 0)
		return "empty model id";
	if (len > LINK_MODEL_ID_MAX)
		return "model id longer than 256 bytes";
	for (size_t i = 0; i < len; i++)
		if ((unsigned char)m->id[i] < 0x20 || m->id[i] == 0x7f)
			return "model id with a control character";
	if (m->backend != NULL && strlen(m->backend) > LINK_MODEL_ID_MAX)
		return "backend name longer than 256 bytes";
	return NULL;
}

/* Control bytes as \xNN; cut before LINK_REFUSED_ID_MAX at a character
 * boundary, so the proto3 string stays UTF-8 when the id was. */
static void
escape_id(char *out, const char *id)
{
	size_t o = 0;

	for (const unsigned char *p = (const unsigned char *)id; *p != '\0'; p++) {
		size_t need = *p < 0x20 || *p == 0x7f ? 4 : 1;

		if (o + need > LINK_REFUSED_ID_MAX - 3) {
			if ((*p & 0xc0) == 0x80) {
				/* mid-character: drop its first bytes too */
				while (o > 0 && ((unsigned char)out[o - 1] & 0xc0) == 0x80)
					o--;
				if (o > 0 && (unsigned char)out[o - 1] >= 0xc0)
					o--;
			}
			memcpy(out + o, "...", 3);
			o += 3;
			break;
		}
		if (need == 4)
			o += (size_t)snprintf(out + o, 5, "\\x%02x", *p);
		else
			out[o++] = (char)*p;
	}
	out[o] = '\0';
}

void
link_refused_add(struct link_refused *r, uint32_t index, const char *id, const char *why)
{
	r->total++;
	if (r->n == LINK_REFUSED_LISTED)
		return;
	r->items[r->n].index = index;
	r->items[r->n].why = why;
	escape_id(r->items[r->n].id, id != NULL ? id : "");
	r->n++;
}

void
link_refused_send(struct link_stream *s, const struct link_refused *r, const char *agent_id)
{
	Tokilake__V1__ServerMessage out = TOKILAKE__V1__SERVER_MESSAGE__INIT;
	Tokilake__V1__Control ctl = TOKILAKE__V1__CONTROL__INIT;
	Tokilake__V1__ModelsRefused mr = TOKILAKE__V1__MODELS_REFUSED__INIT;
	Tokilake__V1__RefusedModel items[LINK_REFUSED_LISTED], *ptrs[LINK_REFUSED_LISTED];

	if (r->total == 0)
		return;
	log_warnx("agent %s: %zu model%s refused, the rest of its list is used; first: #%u "
	    "\"%s\": %s", agent_id, r->total, r->total == 1 ? "" : "s", r->items[0].index,
	    r->items[0].id, r->items[0].why);
	for (size_t i = 0; i < r->n; i++) {
		tokilake__v1__refused_model__init(&items[i]);
		items[i].index = r->items[i].index;
		items[i].id = (char *)r->items[i].id;
		items[i].reason = (char *)r->items[i].why;
		ptrs[i] = &items[i];
	}
	mr.models = ptrs;
	mr.n_models = r->n;
	mr.total = (uint32_t)r->total;
	ctl.msg_case = TOKILAKE__V1__CONTROL__MSG_MODELS_REFUSED;
	ctl.models_refused = &mr;
	out.msg_case = TOKILAKE__V1__SERVER_MESSAGE__MSG_CONTROL;
	out.control = &ctl;
	(void)link_stream_send(s, &out.base);
}
