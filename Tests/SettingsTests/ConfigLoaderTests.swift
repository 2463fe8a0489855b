import Foundation
import Ingestion
import Model
import Settings
import Store
import Testing
import VectorIndex

let packageRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent().path

func shipped(_ name: String) -> String { (packageRoot as NSString).appendingPathComponent("Config/\(name)") }

struct ConfigLoaderTests {
    @Test func theShippedConfigsDecode() throws {
        let data = try ConfigLoader.load(DataConfig.self, from: shipped("data.json"))
        #expect(data.source == .synthetic && data.split.method == .leaveLastOut)
        let train = try ConfigLoader.load(TrainingConfig.self, from: shipped("train.json"))
        #expect(train.deriveSizes && train.logqCorrection && train.negativeSampling == .popularity)
        let index = try ConfigLoader.load(IndexConfig.self, from: shipped("index.json"))
        #expect(index.metric == .innerProduct && index.nprobe > 0)
        let serve = try ConfigLoader.load(ServingConfig.self, from: shipped("serve.json"))
        #expect(serve.host == "127.0.0.1")
        #expect(FileManager.default.fileExists(atPath: (packageRoot as NSString).appendingPathComponent(data.syntheticSpec)))
    }

    @Test func aWrongTypeIsReportedWithFileAndKey() throws {
        let path = NSTemporaryDirectory() + "config-\(UUID().uuidString).json"
        try Data(#"{"split": {"seed": "seven"}}"#.utf8).write(to: URL(fileURLWithPath: path))
        defer { try? FileManager.default.removeItem(atPath: path) }
        #expect { _ = try ConfigLoader.load(DataConfig.self, from: path) } throws: { error in
            let text = "\(error)"
            return text.hasPrefix(path) && text.contains("split.seed")
        }
    }

    @Test func anUnknownKeyIsAnErrorNotASilentDefault() throws {
        let path = NSTemporaryDirectory() + "config-\(UUID().uuidString).json"
        try Data(#"{"nprob": 4}"#.utf8).write(to: URL(fileURLWithPath: path))
        defer { try? FileManager.default.removeItem(atPath: path) }
        #expect { _ = try ConfigLoader.load(IndexConfig.self, from: path) } throws: { error in
            let text = "\(error)"
            return text.hasPrefix(path) && text.contains("unknown key nprob") && text.contains("nprobe")
        }
    }

    @Test func aPartialFileKeepsTheOtherDefaults() throws {
        let merged = try ConfigLoader.decode(DataConfig.self, from: Data(#"{"split": {"method": "random-ratio"}, "on_error": "skip"}"#.utf8))
        #expect(merged.split.method == .randomRatio && merged.split.seed == SplitConfig().seed)
        #expect(merged.onError == .skip && merged.store == DataConfig().store)
    }

    @Test func invalidJSONAndMissingFilesAreNamed() throws {
        let path = NSTemporaryDirectory() + "config-\(UUID().uuidString).json"
        try Data("{ not json".utf8).write(to: URL(fileURLWithPath: path))
        defer { try? FileManager.default.removeItem(atPath: path) }
        #expect(throws: ConfigError.self) { _ = try ConfigLoader.load(DataConfig.self, from: path) }
        #expect { _ = try ConfigLoader.load(DataConfig.self, from: "/nonexistent.json") } throws: { error in
            "\(error)".contains("/nonexistent.json")
        }
    }
}

struct ValidationTests {
    @Test(arguments: [
        ("embedding_dimension", #"{"embedding_dimension": 0}"#),
        ("temperature", #"{"temperature": 0}"#),
        ("temperature", #"{"temperature": -0.5}"#),
        ("batch_size", #"{"batch_size": 0}"#),
        ("learning_rate", #"{"learning_rate": -0.01}"#),
        ("dropout", #"{"dropout": 1.0}"#),
        ("mlp_hidden", #"{"mlp_hidden": [64, 0]}"#),
        ("history_length", #"{"history_length": -1}"#),
    ])
    func impossibleTrainingValuesAreNamed(key: String, json: String) throws {
        let config = try ConfigLoader.decode(TrainingConfig.self, from: Data(json.utf8))
        #expect {
            try config.validate()
        } throws: { error in
            "\(error)".contains(key)
        }
    }

    @Test(arguments: [
        (TrainingConfig.self as any DefaultedConfig.Type, #"{"loss": "hinge"}"#, "loss", "softmax, ccl, bpr"),
        (TrainingConfig.self, #"{"lr_schedule": "sideways"}"#, "lr_schedule", "constant, cosine, linear"),
        (TrainingConfig.self, #"{"negative_sampling": "random"}"#, "negative_sampling", "uniform, popularity"),
        (IndexConfig.self, #"{"metric": "cosin"}"#, "metric", "inner_product, cosine, l2"),
        (IndexConfig.self, #"{"encoding": "pq"}"#, "encoding", "flat, sq8"),
        (DataConfig.self, #"{"split": {"method": "by-time"}}"#, "split.method", "leave-last-out"),
        (DataConfig.self, #"{"on_error": "ignore"}"#, "on_error", "fail, skip"),
    ])
    func aChoiceOutsideItsValuesIsNamedWithTheChoices(type: any DefaultedConfig.Type, json: String, key: String, choices: String) throws {
        let path = NSTemporaryDirectory() + "config-\(UUID().uuidString).json"
        try Data(json.utf8).write(to: URL(fileURLWithPath: path))
        defer { try? FileManager.default.removeItem(atPath: path) }
        #expect {
            _ = try ConfigLoader.load(type, from: path)
        } throws: { error in
            let text = "\(error)"
            return text.hasPrefix(path) && text.contains("key \(key) has value") && text.contains(choices)
        }
    }

    @Test func theShippedConfigsAreValid() throws {
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        for name in ["train", "gowalla", "ml-100k"] {
            try ConfigLoader.load(TrainingConfig.self, from: root.appendingPathComponent("Config/\(name).json").path).validate()
        }
        try ConfigLoader.load(ServingConfig.self, from: root.appendingPathComponent("Config/serve.json").path).validate()
        var bad = ServingConfig()
        bad.defaultK = 0
        #expect(throws: ConfigError.self) { try bad.validate() }
        var noRerank = ServingConfig()
        noRerank.rerankFactor = -1
        #expect { try noRerank.validate() } throws: { "\($0)".contains("rerank_factor") }
    }
}
