/* A stand-in for Windows' bcryptprimitives.dll, for running rawget.exe
 * under wine 8 (Debian 12), which lacks it. Rust's std (1.78 and later)
 * takes its random numbers (HashMap keys) from ProcessPrng in this DLL;
 * without it the loader refuses the executable (c0000135). This gives the
 * same bytes from BCryptGenRandom, which wine has. Testing only: Windows
 * 10 and later ship the real DLL, and the shipped rawget.exe needs nothing.
 *
 *   x86_64-w64-mingw32-gcc -shared -O2 -o bcryptprimitives.dll bcryptprimitives.c -lbcrypt
 */
#include <windows.h>
#include <bcrypt.h>

BOOL WINAPI ProcessPrng(PBYTE data, SIZE_T len) {
  return BCryptGenRandom(NULL, data, (ULONG)len, BCRYPT_USE_SYSTEM_PREFERRED_RNG) == 0;
}
