/* Reading Infobip replies (SMS v2/v3 and Email v3 share the shapes). */
#ifndef GT_BACKEND_INFOBIP_H
#define GT_BACKEND_INFOBIP_H

#include "backends/http.h"

/* Turns an HTTP reply into a verdict in res. A 2xx is a success (even
 * when its body was cut short or is not JSON: Infobip has accepted the
 * request) unless the body lists a message in status group UNDELIVERABLE
 * (2) or REJECTED (5); other statuses are described from either error
 * format (errorCode/description or requestError.serviceException); 401
 * and 403 set auth_failed. h (may be NULL) describes a cut reply. Returns
 * 0 or GT_ESEND. */
GT_HIDDEN int gt__infobip_verdict(const gt_http *h, const char *backend,
                                  const gt_http_reply *r, gt_send_result *res);

#endif
