#include "http/problem.h"

#include <stdio.h>
#include <string.h>

const char *aw_http_status_text(int s) {
    switch (s) {
    case 200:
        return "OK";
    case 201:
        return "Created";
    case 202:
        return "Accepted";
    case 204:
        return "No Content";
    case 301:
        return "Moved Permanently";
    case 302:
        return "Found";
    case 303:
        return "See Other";
    case 304:
        return "Not Modified";
    case 400:
        return "Bad Request";
    case 401:
        return "Unauthorized";
    case 403:
        return "Forbidden";
    case 404:
        return "Not Found";
    case 405:
        return "Method Not Allowed";
    case 406:
        return "Not Acceptable";
    case 408:
        return "Request Timeout";
    case 409:
        return "Conflict";
    case 410:
        return "Gone";
    case 411:
        return "Length Required";
    case 413:
        return "Content Too Large";
    case 414:
        return "URI Too Long";
    case 415:
        return "Unsupported Media Type";
    case 422:
        return "Unprocessable Content";
    case 429:
        return "Too Many Requests";
    case 431:
        return "Request Header Fields Too Large";
    case 500:
        return "Internal Server Error";
    case 501:
        return "Not Implemented";
    case 502:
        return "Bad Gateway";
    case 503:
        return "Service Unavailable";
    case 504:
        return "Gateway Timeout";
    }
    return "Error";
}

json_t *aw_problem_new(int status, const char *type, const char *title, const char *detail) {
    char uri[256];
    if (!type)
        snprintf(uri, sizeof uri, "about:blank");
    else if (strstr(type, "://") || strncmp(type, "urn:", 4) == 0)
        snprintf(uri, sizeof uri, "%s", type);
    else
        snprintf(uri, sizeof uri, "%s%s", AW_PROBLEM_BASE, type);
    json_t *p = json_object();
    if (!p) return NULL;
    json_object_set_new(p, "type", json_string(uri));
    json_object_set_new(p, "title", json_string(title ? title : aw_http_status_text(status)));
    json_object_set_new(p, "status", json_integer(status));
    if (detail) json_object_set_new(p, "detail", json_string(detail));
    return p;
}
