#include "tandem_crash.h"

#include <signal.h>
#include <string.h>
#include <unistd.h>

static char crash_prefix[512];
/* An alternate stack for the main thread, so a stack overflow can still be reported. */
static char crash_stack[64 * 1024];
static char crash_suffix[512];

static void write_all(const char *text) {
  size_t left = strlen(text);
  while (left > 0) {
    ssize_t n = write(STDERR_FILENO, text, left);
    if (n <= 0) return;
    text += n;
    left -= (size_t)n;
  }
}

static const char *signal_name(int sig) {
  switch (sig) {
    case SIGILL: return "SIGILL, a failed runtime check";
    case SIGTRAP: return "SIGTRAP, a failed runtime check";
    case SIGABRT: return "SIGABRT";
    case SIGSEGV: return "SIGSEGV";
    case SIGBUS: return "SIGBUS";
    case SIGFPE: return "SIGFPE";
    default: return "a fatal signal";
  }
}

static void crash_handler(int sig) {
  write_all("\n");
  write_all(crash_prefix);
  write_all(signal_name(sig));
  write_all(crash_suffix);
  write_all("\n");
  _exit(1);
}

void tandem_install_crash_report(const char *prefix, const char *suffix) {
  strncpy(crash_prefix, prefix, sizeof crash_prefix - 1);
  strncpy(crash_suffix, suffix, sizeof crash_suffix - 1);
  stack_t stack;
  memset(&stack, 0, sizeof stack);
  stack.ss_sp = crash_stack;
  stack.ss_size = sizeof crash_stack;
  sigaltstack(&stack, NULL);
  struct sigaction action;
  memset(&action, 0, sizeof action);
  action.sa_handler = crash_handler;
  sigemptyset(&action.sa_mask);
  /* SA_RESETHAND: a fault inside the handler itself ends the process the default way. */
  action.sa_flags = SA_RESETHAND | SA_ONSTACK;
  int signals[] = {SIGILL, SIGTRAP, SIGABRT, SIGSEGV, SIGBUS, SIGFPE};
  for (unsigned i = 0; i < sizeof signals / sizeof signals[0]; i++) {
    sigaction(signals[i], &action, NULL);
  }
}
