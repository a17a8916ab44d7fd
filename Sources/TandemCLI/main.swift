import CommandLineKit
import TandemBase

#if canImport(Glibc)
  import Glibc
#endif

// Errors may quote URLs and request details: secrets are scrubbed before anything is printed.
let status = await CommandRunner.main(
  Array(CommandLine.arguments.dropFirst()), root: Tandem.root,
  describe: { Redaction.text(String(describing: $0)) })
exit(status)
