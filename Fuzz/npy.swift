// libFuzzer target: the `.npy` reader (TandemBase.NPY). Any outcome but an array or a
// `NPY.DecodeError` is a finding; a decoded array must re-encode to the same data.
import TandemBase

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzNPY(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
  let bytes = input(data, size)
  if let array = try? NPY.decode(bytes) {
    let again = NPY.encode(dtype: array.dtype, shape: array.shape, data: array.data)
    guard let back = try? NPY.decode(again), back.data == array.data, back.shape == array.shape
    else { fatalError("NPY round trip failed") }
  }
  return 0
}
