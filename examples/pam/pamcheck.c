/*
 * pamcheck: one login through real PAM, for the google-authenticator-libpam
 * shim (verifier.py).
 *
 *   pamcheck CONFDIR SERVICE USER CODE
 *
 * Starts a PAM transaction for USER with the service file CONFDIR/SERVICE
 * (pam_start_confdir, Linux-PAM 1.4 and later: no file under /etc/pam.d is
 * needed), answers every prompt of the modules with CODE, as a user typing
 * it would, and runs pam_authenticate. It judges nothing itself.
 *
 * Exit status: 0 the login succeeded (PAM_SUCCESS); 1 it was denied
 * (PAM_AUTH_ERR, PAM_MAXTRIES, PAM_PERM_DENIED, PAM_USER_UNKNOWN); 3 PAM
 * itself failed (the reason, without the code, on stderr); 2 usage.
 */
#include <security/pam_appl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int answer(int n, const struct pam_message **msg, struct pam_response **resp, void *data) {
  const char *code = data;
  struct pam_response *r = calloc((size_t)n, sizeof *r);
  if (r == NULL) {
    return PAM_BUF_ERR;
  }
  for (int i = 0; i < n; i++) {
    if (msg[i]->msg_style == PAM_PROMPT_ECHO_OFF || msg[i]->msg_style == PAM_PROMPT_ECHO_ON) {
      r[i].resp = strdup(code);
      if (r[i].resp == NULL) {
        for (int j = 0; j < i; j++) {
          free(r[j].resp);
        }
        free(r);
        return PAM_BUF_ERR;
      }
    }
  }
  *resp = r;
  return PAM_SUCCESS;
}

int main(int argc, char **argv) {
  if (argc != 5) {
    fprintf(stderr, "usage: pamcheck CONFDIR SERVICE USER CODE\n");
    return 2;
  }
  struct pam_conv conv = {answer, argv[4]};
  pam_handle_t *pamh = NULL;
  int rc = pam_start_confdir(argv[2], argv[3], &conv, argv[1], &pamh);
  if (rc != PAM_SUCCESS) {
    fprintf(stderr, "pamcheck: pam_start_confdir: %s\n", pam_strerror(pamh, rc));
    return 3;
  }
  rc = pam_authenticate(pamh, PAM_SILENT);
  int status;
  switch (rc) {
  case PAM_SUCCESS:
    status = 0;
    break;
  case PAM_AUTH_ERR:
  case PAM_MAXTRIES:
  case PAM_PERM_DENIED:
  case PAM_USER_UNKNOWN:
    status = 1;
    break;
  default:
    fprintf(stderr, "pamcheck: pam_authenticate: %s\n", pam_strerror(pamh, rc));
    status = 3;
  }
  pam_end(pamh, rc);
  return status;
}
