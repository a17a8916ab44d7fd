#ifndef TANDEM_CURL_SHIMS_H
#define TANDEM_CURL_SHIMS_H

#include <curl/curl.h>
#include <stddef.h>

/* curl_easy_setopt is variadic; one typed entry point per argument kind. */
CURLcode tandem_curl_setopt_long(CURL *handle, CURLoption option, long value);
CURLcode tandem_curl_setopt_off(CURL *handle, CURLoption option, curl_off_t value);
CURLcode tandem_curl_setopt_string(CURL *handle, CURLoption option, const char *value);
CURLcode tandem_curl_setopt_pointer(CURL *handle, CURLoption option, void *value);
CURLcode tandem_curl_setopt_slist(CURL *handle, CURLoption option, struct curl_slist *value);

typedef size_t (*tandem_curl_data_callback)(char *data, size_t size, size_t count, void *user);
CURLcode tandem_curl_setopt_write_function(CURL *handle, tandem_curl_data_callback callback);
CURLcode tandem_curl_setopt_header_function(CURL *handle, tandem_curl_data_callback callback);

/* curl_easy_getinfo is variadic too. */
CURLcode tandem_curl_getinfo_long(CURL *handle, CURLINFO info, long *value);
CURLcode tandem_curl_getinfo_off(CURL *handle, CURLINFO info, curl_off_t *value);
CURLcode tandem_curl_getinfo_double(CURL *handle, CURLINFO info, double *value);
CURLcode tandem_curl_getinfo_string(CURL *handle, CURLINFO info, const char **value);
CURLcode tandem_curl_getinfo_pointer(CURL *handle, CURLINFO info, void **value);

/* curl_multi_setopt is variadic. */
CURLMcode tandem_curl_multi_setopt_long(CURLM *multi, CURLMoption option, long value);

/* CURLMsg holds a union; expose the two fields we need. */
CURL *tandem_curl_msg_easy(const CURLMsg *message);
CURLcode tandem_curl_msg_result(const CURLMsg *message);
int tandem_curl_msg_is_done(const CURLMsg *message);

#endif
