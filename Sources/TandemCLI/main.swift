import CommandLineKit

#if canImport(Glibc)
  import Glibc
#endif

let status = await CommandRunner.main(Array(CommandLine.arguments.dropFirst()), root: Tandem.root)
exit(status)
