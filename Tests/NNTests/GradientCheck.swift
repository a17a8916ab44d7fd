import TandemBase
import Testing

@testable import NN

/// A quantity whose gradient is checked: where its values live and where the analytic gradient
/// appears after backward.
struct Variable {
  var name: String
  var values: UnsafeMutablePointer<Float>
  var count: Int
  var gradient: () -> [Float]
}

/// Random tensor with entries in N(0, scale²) from a seeded generator.
func randomTensor(_ shape: [Int], seed: UInt64, scale: Float = 1) -> Tensor {
  var rng = SeededGenerator(seed: seed)
  let t = Tensor(shape: shape)
  for i in 0..<t.count { t.data[i] = Float(rng.nextGaussian()) * scale }
  return t
}

/// Central finite differences of L = Σ y·r (accumulated in Double) against the analytic gradient
/// from `backward(r)`. Returns the worst relative error over variables, where the error of a
/// variable is ‖analytic − numeric‖ / max(‖analytic‖, ‖numeric‖, 1e-6) over the checked entries.
func gradientError(
  forward: () -> Tensor, backward: (Tensor) -> Void, variables: [Variable], step h: Float = 1e-2,
  maxEntries: Int = 40, seed: UInt64 = 99
) -> [String: Double] {
  let y0 = forward()
  let r = randomTensor(y0.shape, seed: seed)
  backward(r)
  var errors: [String: Double] = [:]
  for v in variables {
    let analytic = v.gradient()
    let stride = max(1, v.count / maxEntries)
    var diff = 0.0
    var na = 0.0
    var nn = 0.0
    for i in Swift.stride(from: 0, to: v.count, by: stride) {
      let saved = v.values[i]
      func loss() -> Double {
        let y = forward()
        var s = 0.0
        for k in 0..<y.count { s += Double(y.data[k]) * Double(r.data[k]) }
        return s
      }
      v.values[i] = saved + h
      let lp = loss()
      v.values[i] = saved - h
      let lm = loss()
      v.values[i] = saved
      let numeric = (lp - lm) / (2 * Double(h))
      let a = Double(analytic[i])
      diff += (a - numeric) * (a - numeric)
      na += a * a
      nn += numeric * numeric
    }
    errors[v.name] = diff.squareRoot() / max(na.squareRoot(), nn.squareRoot(), 1e-6)
  }
  return errors
}

/// The parameter named `name` of `store` as a variable.
func parameterVariable(_ store: ParameterStore, _ name: String) -> Variable {
  let e = store.parameters[store.index(ofParameter: name)!]
  return Variable(
    name: name, values: store.values + e.offset, count: e.count,
    gradient: { store.gradient(name)! })
}

/// A tensor input as a variable whose gradient is read from `dx` after backward.
func inputVariable(_ x: Tensor, _ dx: @escaping () -> Tensor) -> Variable {
  Variable(name: "input", values: x.data, count: x.count, gradient: { dx().values })
}
