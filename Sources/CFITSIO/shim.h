#ifndef OBSIM_CFITSIO_SHIM_H
#define OBSIM_CFITSIO_SHIM_H
#include <fitsio.h>
#endif
