import CommandLineKit
import NN
import TandemBase

#if canImport(Glibc)
  import Glibc
#endif

// Before any thread starts: may set OPENBLAS_CORETYPE (see BLAS.selectKernels).
BLAS.selectKernels()
let arguments = Array(CommandLine.arguments.dropFirst())
CrashReport.install(arguments: arguments, root: Tandem.root)
// Errors may quote URLs and request details: secrets are scrubbed before anything is printed.
let status = await CommandRunner.main(
  arguments, root: Tandem.root,
  describe: { Redaction.text(String(describing: $0)) })
exit(status)
