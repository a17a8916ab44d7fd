// libFuzzer target: the safetensors reader (NN.SafeTensors). Any outcome but a file or a
// `SafeTensorsError` is a finding; a decoded file must re-encode and decode to the same tensors.
import NN

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzSafeTensors(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
  let bytes = input(data, size)
  if let file = try? SafeTensors.decode(bytes, path: "fuzz.safetensors") {
    for name in file.names {
      _ = try? file.tensors[name]?.floats(name: name)
    }
    let again = SafeTensors.encode(
      file.names.map { ($0, file.tensors[$0]!) }, metadata: file.metadata)
    guard let back = try? SafeTensors.decode(again), back.tensors == file.tensors,
      back.metadata == file.metadata
    else { fatalError("safetensors round trip failed") }
  }
  return 0
}
