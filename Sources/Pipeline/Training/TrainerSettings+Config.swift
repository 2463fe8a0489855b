import Foundation
import Model
import Settings

extension TrainerSettings {
    /// The trainer's settings for a training configuration (already validated).
    public init(config c: TrainingConfig) {
        self.init()
        dimension = c.embeddingDimension
        epochs = c.epochs
        batchSize = c.batchSize
        learningRate = Float(c.learningRate)
        temperature = Float(c.temperature)
        learnTemperature = c.learnTemperature
        weightDecay = Float(c.weightDecay)
        embeddingWeightDecay = Float(c.embeddingWeightDecay)
        patience = c.patience
        seed = c.seed
        extraNegatives = c.extraNegatives
        negativeDistribution = c.negativeSampling
        logQCorrection = c.logqCorrection
        logQWeight = Float(c.logqWeight)
        streamingFrequency = c.logqEstimate == .streaming
        warmupSteps = c.warmupSteps
        schedule = c.lrSchedule
        clipNorm = Float(c.clipNorm)
        threads = c.trainThreads > 0 ? c.trainThreads : ProcessInfo.processInfo.activeProcessorCount
        objective = switch c.loss {
        case .softmax: .sampledSoftmax
        case .ccl: .cosineContrastive(margin: Float(c.cclMargin), negativeWeight: Float(c.cclNegativeWeight))
        case .bpr: .bpr
        }
    }
}
