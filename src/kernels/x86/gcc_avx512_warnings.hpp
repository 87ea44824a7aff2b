// Included first by the AVX-512 and AMX translation units. GCC 12's AVX-512
// headers build "undefined" vectors as `__m512 __Y = __Y;`, which
// -Wuninitialized flags wherever they are inlined (GCC bug 105593, fixed in
// GCC 13). The pragmas hold for the rest of the including file.
#pragma once

#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic ignored "-Wuninitialized"
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#endif
