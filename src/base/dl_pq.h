/*
 * dl_pq — libpq.so.5 (PostgreSQL client library), loaded on first use; see base/dl.h.
 *
 * Include this instead of the library's headers. Every function amtsweg
 * uses is redirected to a pointer filled by aw_dl_pq_load(); call that at
 * the entry point of a feature before the first library call. Users:
 * src/store/postgres.c.
 * A function not listed below fails to link in the amtsweg binary:
 * add it to AW_DL_PQ_FUNCS.
 */
#ifndef AW_BASE_DL_PQ_H
#define AW_BASE_DL_PQ_H

#include <libpq-fe.h>

#include "base/dl.h"

#define AW_DL_PQ_FUNCS(X)  \
    X(PQclear)             \
    X(PQcmdStatus)         \
    X(PQcmdTuples)         \
    X(PQconnectdb)         \
    X(PQconninfoFree)      \
    X(PQconninfoParse)     \
    X(PQdb)                \
    X(PQdescribePrepared)  \
    X(PQerrorMessage)      \
    X(PQexec)              \
    X(PQexecPrepared)      \
    X(PQfformat)           \
    X(PQfinish)            \
    X(PQfreemem)           \
    X(PQftype)             \
    X(PQgetisnull)         \
    X(PQgetlength)         \
    X(PQgetvalue)          \
    X(PQhost)              \
    X(PQnfields)           \
    X(PQntuples)           \
    X(PQport)              \
    X(PQprepare)           \
    X(PQresultErrorField)  \
    X(PQresultStatus)      \
    X(PQsetClientEncoding) \
    X(PQstatus)            \
    X(PQtransactionStatus) \
    X(PQunescapeBytea)

AW_DL_DECLARE(pq, AW_DL_PQ_FUNCS)

#ifndef AW_DL_IMPL
#define PQclear             (*aw_dl_pq_fn.PQclear)
#define PQcmdStatus         (*aw_dl_pq_fn.PQcmdStatus)
#define PQcmdTuples         (*aw_dl_pq_fn.PQcmdTuples)
#define PQconnectdb         (*aw_dl_pq_fn.PQconnectdb)
#define PQconninfoFree      (*aw_dl_pq_fn.PQconninfoFree)
#define PQconninfoParse     (*aw_dl_pq_fn.PQconninfoParse)
#define PQdb                (*aw_dl_pq_fn.PQdb)
#define PQdescribePrepared  (*aw_dl_pq_fn.PQdescribePrepared)
#define PQerrorMessage      (*aw_dl_pq_fn.PQerrorMessage)
#define PQexec              (*aw_dl_pq_fn.PQexec)
#define PQexecPrepared      (*aw_dl_pq_fn.PQexecPrepared)
#define PQfformat           (*aw_dl_pq_fn.PQfformat)
#define PQfinish            (*aw_dl_pq_fn.PQfinish)
#define PQfreemem           (*aw_dl_pq_fn.PQfreemem)
#define PQftype             (*aw_dl_pq_fn.PQftype)
#define PQgetisnull         (*aw_dl_pq_fn.PQgetisnull)
#define PQgetlength         (*aw_dl_pq_fn.PQgetlength)
#define PQgetvalue          (*aw_dl_pq_fn.PQgetvalue)
#define PQhost              (*aw_dl_pq_fn.PQhost)
#define PQnfields           (*aw_dl_pq_fn.PQnfields)
#define PQntuples           (*aw_dl_pq_fn.PQntuples)
#define PQport              (*aw_dl_pq_fn.PQport)
#define PQprepare           (*aw_dl_pq_fn.PQprepare)
#define PQresultErrorField  (*aw_dl_pq_fn.PQresultErrorField)
#define PQresultStatus      (*aw_dl_pq_fn.PQresultStatus)
#define PQsetClientEncoding (*aw_dl_pq_fn.PQsetClientEncoding)
#define PQstatus            (*aw_dl_pq_fn.PQstatus)
#define PQtransactionStatus (*aw_dl_pq_fn.PQtransactionStatus)
#define PQunescapeBytea     (*aw_dl_pq_fn.PQunescapeBytea)
#endif

#endif
