/* bcryptprimitives.dll for Wine 8.0, which lacks it: Go 1.24 and later call
 * ProcessPrng from it at start-up. One function over RtlGenRandom (advapi32's
 * SystemFunction036), which Wine has. Used only to run nestvirt's Windows
 * build and tests under Wine (scripts/test-windows.sh); never shipped. */
#include <windows.h>
#define SystemFunction036 NTAPI SystemFunction036
#include <ntsecapi.h>
#undef SystemFunction036

BOOL WINAPI ProcessPrng(PBYTE data, SIZE_T len)
{
    return RtlGenRandom(data, (ULONG)len);
}
