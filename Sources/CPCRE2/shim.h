#ifndef MIMAMORI_CPCRE2_SHIM_H
#define MIMAMORI_CPCRE2_SHIM_H
/* PCRE2 with 8-bit code units: rule patterns and packet bytes are bytes. Swift calls the
   *_8 entry points directly because the unsuffixed names are function-like macros. */
#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>
#endif
