/* A stand-in for wsl.exe --status under Wine: what an installed WSL prints,
 * in UTF-16LE without a BOM, as wsl.exe writes to a pipe unless WSL_UTF8=1
 * (and as older wsl.exe always does). Test tool; never shipped. */
#include <windows.h>

int main(void)
{
    static const WCHAR text[] = L"Default Distribution: Ubuntu-24.04\r\nDefault Version: 2\r\n";
    DWORD n;
    WriteFile(GetStdHandle(STD_OUTPUT_HANDLE), text, sizeof(text) - sizeof(WCHAR), &n, NULL);
    return 0;
}
