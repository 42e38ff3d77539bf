/*
 * timeshim.c - lets the liboath shim hand a request's time to liboath.
 *
 * oath_authenticate_usersfile() validates TOTP codes against time(NULL);
 * it has no parameter for "now". This tiny library is loaded with
 * LD_PRELOAD ahead of libc, so liboath's call to time() lands here. Each
 * thread may set its own simulated time; a thread that has set none (and
 * every caller outside the shim's liboath calls) gets the real clock.
 *
 * Build: cc -shared -fPIC -O2 -o timeshim.so timeshim.c
 * (verifier.py builds it on start; see README.md.)
 */
#define _GNU_SOURCE
#include <time.h>

static __thread int have_fake;
static __thread time_t fake_now;

/* otplab_set_time makes time() return now on the calling thread. */
void
otplab_set_time (long long now)
{
  fake_now = (time_t) now;
  have_fake = 1;
}

/* otplab_clear_time gives the calling thread the real clock back. */
void
otplab_clear_time (void)
{
  have_fake = 0;
}

time_t
time (time_t *out)
{
  time_t now;

  if (have_fake)
    now = fake_now;
  else
    {
      struct timespec ts;
      if (clock_gettime (CLOCK_REALTIME, &ts) != 0)
	return (time_t) -1;
      now = ts.tv_sec;
    }
  if (out)
    *out = now;
  return now;
}
