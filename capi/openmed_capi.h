/* Types shared by the cgo preambles of package capi. The public, documented
 * ABI is bindings/openmed.h; this file only declares what the Go exports
 * need to name in their signatures. */
#ifndef OPENMED_CAPI_TYPES_H
#define OPENMED_CAPI_TYPES_H
#include <stdint.h>
#include <stdlib.h>

/* openmed_progress_fn receives one JSON progress event; a nonzero return
 * asks the running job to stop (as openmed_job_cancel). */
typedef int (*openmed_progress_fn)(const char *event_json, void *user_data);

#endif
