/* A stand-in for a wsl.exe that never answers (as while its service starts).
 * Test tool; never shipped. */
#include <windows.h>

int main(void)
{
    Sleep(INFINITE);
    return 0;
}
