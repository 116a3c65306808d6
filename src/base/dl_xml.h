/*
 * dl_xml — libxml2.so.2 (XML parser libxml2), loaded on first use; see base/dl.h.
 *
 * Include this instead of the library's headers. Every function amtsweg
 * uses is redirected to a pointer filled by aw_dl_xml_load(); call that at
 * the entry point of a feature before the first library call. Users:
 * src/fim (xml.c and the parsers), src/catalog/xzufi.c.
 * A function not listed below fails to link in the amtsweg binary:
 * add it to AW_DL_XML_FUNCS.
 */
#ifndef AW_BASE_DL_XML_H
#define AW_BASE_DL_XML_H

#include <libxml/parser.h>
#include <libxml/tree.h>
#include <libxml/xmlerror.h>
#include <libxml/xmlmemory.h>

#include "base/dl.h"

#define AW_DL_XML_FUNCS(X)  \
    X(xmlCtxtGetLastError)  \
    X(xmlCtxtReadMemory)    \
    X(xmlDocGetRootElement) \
    X(xmlFreeDoc)           \
    X(xmlFreeParserCtxt)    \
    X(xmlGetLineNo)         \
    X(xmlGetProp)           \
    X(xmlHasProp)           \
    X(xmlInitParser)        \
    X(xmlNewParserCtxt)     \
    X(xmlNodeGetContent)

/* xmlFree is a variable in the library (a pointer to its free function). */
AW_DL_DECLARE(xml, AW_DL_XML_FUNCS, __typeof__(xmlFree) *xmlFree;)

#ifndef AW_DL_IMPL
#undef xmlFree
#define xmlCtxtGetLastError  (*aw_dl_xml_fn.xmlCtxtGetLastError)
#define xmlCtxtReadMemory    (*aw_dl_xml_fn.xmlCtxtReadMemory)
#define xmlDocGetRootElement (*aw_dl_xml_fn.xmlDocGetRootElement)
#define xmlFreeDoc           (*aw_dl_xml_fn.xmlFreeDoc)
#define xmlFreeParserCtxt    (*aw_dl_xml_fn.xmlFreeParserCtxt)
#define xmlGetLineNo         (*aw_dl_xml_fn.xmlGetLineNo)
#define xmlGetProp           (*aw_dl_xml_fn.xmlGetProp)
#define xmlHasProp           (*aw_dl_xml_fn.xmlHasProp)
#define xmlInitParser        (*aw_dl_xml_fn.xmlInitParser)
#define xmlNewParserCtxt     (*aw_dl_xml_fn.xmlNewParserCtxt)
#define xmlNodeGetContent    (*aw_dl_xml_fn.xmlNodeGetContent)
#define xmlFree              (*aw_dl_xml_fn.xmlFree)
#endif

#endif
