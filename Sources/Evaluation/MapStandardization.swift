import NN

/// Per-channel standardization of feature maps stored row-major as `count × channels × h × w`,
/// shared by the trained per-pixel probes (``SegmentationProbe``, ``UNetProbe``).
struct MapStandardization {
  let channels: Int
  let h: Int
  let w: Int
  /// Mean and 1 / standard deviation per channel (1 for a constant channel).
  let mean: [Float]
  let inverseStd: [Float]

  /// Statistics of every pixel of the first `count` windows of `maps`.
  init(maps: [Float], count: Int, channels: Int, h: Int, w: Int) {
    self.channels = channels
    self.h = h
    self.w = w
    let plane = h * w
    var mean = [Float](repeating: 0, count: channels)
    var inverseStd = [Float](repeating: 1, count: channels)
    if count > 0 {
      maps.withUnsafeBufferPointer { v in
        for c in 0..<channels {
          var sum = 0.0
          var sumSq = 0.0
          for i in 0..<count {
            let base = (i * channels + c) * plane
            for p in 0..<plane {
              let x = Double(v[base + p])
              sum += x
              sumSq += x * x
            }
          }
          let n = Double(count * plane)
          let mu = sum / n
          let sd = max(sumSq / n - mu * mu, 0).squareRoot()
          mean[c] = Float(mu)
          inverseStd[c] = sd > 1e-6 ? Float(1 / sd) : 1
        }
      }
    }
    self.mean = mean
    self.inverseStd = inverseStd
  }

  /// `[indices.count, channels, h, w]` standardized maps of windows `indices`.
  func standardized(_ maps: [Float], _ indices: [Int]) -> Tensor {
    let plane = h * w
    let block = channels * plane
    let x = Tensor(shape: [indices.count, channels, h, w])
    maps.withUnsafeBufferPointer { v in
      for (k, i) in indices.enumerated() {
        for c in 0..<channels {
          let (m, s) = (mean[c], inverseStd[c])
          let src = i * block + c * plane
          let dst = k * block + c * plane
          for p in 0..<plane { x.data[dst + p] = (v[src + p] - m) * s }
        }
      }
    }
    return x
  }
}

/// Writes the arg-max class of every pixel of `logits` (`[k, classes, pixels]`) into `out`,
/// starting at window `first` (ties go to the lower class).
func writeArgmax(_ logits: Tensor, classes: Int, pixels: Int, first: Int, into out: inout [Int]) {
  let k = logits.count / (classes * pixels)
  for j in 0..<k {
    let base = j * classes * pixels
    for p in 0..<pixels {
      var best = 0
      var bestValue = logits.data[base + p]
      for c in 1..<classes where logits.data[base + c * pixels + p] > bestValue {
        best = c
        bestValue = logits.data[base + c * pixels + p]
      }
      out[(first + j) * pixels + p] = best
    }
  }
}
