/* now() for verifier.py's "lib" clock: libc's time(), bound directly when
   the object is loaded with RTLD_DEEPBIND, past any LD_PRELOAD. */
#include <time.h>

long long now(void) { return (long long)time(NULL); }
