import Definitions
import Logging

extension TopicManager {
    /// Start-up application of topic definitions: missing topics are created, partitions grown,
    /// configs made equal to the definition (keys the definition does not name are reset).
    func apply(_ definitions: [TopicDefinition]) {
        for d in definitions {
            if let t = topic(named: d.name) {
                let current = Int32(t.partitions.count)
                if d.partitions > current {
                    do {
                        try addPartitions(name: d.name, totalCount: d.partitions, validateOnly: false)
                        logger.info("topic definition: partitions increased", metadata: ["topic": "\(d.name)", "from": "\(current)", "to": "\(d.partitions)"])
                    } catch {
                        logger.error("topic definition: could not add partitions", metadata: ["topic": "\(d.name)", "error": "\(error.message)"])
                    }
                } else if d.partitions < current {
                    logger.warning("topic definition asks for fewer partitions than exist; Kafka cannot shrink a topic, keeping \(current)",
                                   metadata: ["topic": "\(d.name)"])
                }
                if t.config.overrides != d.configs {
                    do {
                        try updateConfig(name: d.name, validateOnly: false) { c in
                            c = TopicConfig()
                            for (k, v) in d.configs { if let p = c.set(k, v) { return p } }
                            return nil
                        }
                        logger.info("topic definition: configs updated", metadata: ["topic": "\(d.name)"])
                    } catch {
                        logger.error("topic definition: could not alter configs", metadata: ["topic": "\(d.name)", "error": "\(error.message)"])
                    }
                }
            } else {
                do {
                    try create(name: d.name, partitions: d.partitions, configs: d.configs.mapValues { Optional($0) })
                } catch {
                    logger.error("topic definition: could not create topic", metadata: ["topic": "\(d.name)", "error": "\(error.message)"])
                }
            }
        }
    }
}
