/// Renders help text in swift-argument-parser's layout.
public enum HelpFormatter {
  /// Full help for a command.
  public static func help(for command: CommandSpec, path: [String]) -> String {
    var lines: [String] = []
    lines.append("OVERVIEW: \(command.abstract)")
    if !command.discussion.isEmpty {
      lines.append("")
      lines.append(command.discussion)
    }
    lines.append("")
    lines.append("USAGE: \(usage(for: command, path: path))")
    if !command.arguments.isEmpty {
      lines.append("")
      lines.append("ARGUMENTS:")
      for a in command.arguments {
        lines.append(row("<\(a.name)>" + (a.isRepeating ? " ..." : ""), a.help))
      }
    }
    lines.append("")
    lines.append("OPTIONS:")
    for o in command.options {
      var label = o.short.map { "-\($0), " } ?? ""
      label += "--\(o.name)"
      var help = o.help
      if case .value(let valueName, let defaultValue, _, let repeating) = o.kind {
        label += " <\(valueName)>"
        if let defaultValue { help += " (default: \(defaultValue))" }
        if repeating { help += " (may be repeated)" }
      }
      lines.append(row(label, help))
    }
    lines.append(row("-h, --help", "Show help information."))
    if !command.subcommands.isEmpty {
      lines.append("")
      lines.append("SUBCOMMANDS:")
      for s in command.subcommands { lines.append(row(s.name, s.abstract)) }
      lines.append("")
      lines.append("  See '\(path.joined(separator: " ")) help <subcommand>' for detailed help.")
    }
    return lines.joined(separator: "\n")
  }

  /// The one-line usage synopsis.
  public static func usage(for command: CommandSpec, path: [String]) -> String {
    var parts = [path.joined(separator: " ")]
    if !command.subcommands.isEmpty && command.run == nil {
      parts.append("<subcommand>")
      return parts.joined(separator: " ")
    }
    for a in command.arguments {
      var text = "<\(a.name)>"
      if a.isRepeating { text += " ..." }
      parts.append(a.isOptional ? "[\(text)]" : text)
    }
    for o in command.options {
      switch o.kind {
      case .flag:
        parts.append("[--\(o.name)]")
      case .value(let valueName, let defaultValue, let required, _):
        let text = "--\(o.name) <\(valueName)>"
        parts.append(required && defaultValue == nil ? text : "[\(text)]")
      }
    }
    return parts.joined(separator: " ")
  }

  static func row(_ label: String, _ help: String) -> String {
    let indent = "  "
    let column = 26
    if label.count + 2 <= column - 2 {
      return indent + label + String(repeating: " ", count: column - 2 - label.count) + help
    }
    return indent + label + "\n" + String(repeating: " ", count: column) + help
  }
}
