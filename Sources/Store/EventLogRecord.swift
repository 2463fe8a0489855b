/// The bytes of an event log (`EventLog`): a header naming the log's current tag, then records.
///
/// A record is one appended group: `[length: UInt32][crc: UInt32][payload]`, the CRC taken over
/// the log's tag and the payload, so a record left in a recycled file by an earlier use of it
/// (another tag) or torn by a crash fails the check and ends the log there. Integers are
/// little-endian.
enum EventLogRecord {
    /// The header's size: records start on the second page, so rewriting the header when a file
    /// is recycled never touches a record's page.
    static let headerSize = 4_096
    static let magic: [UInt8] = Array("TTEVLOG1".utf8)
    /// A record's length and CRC.
    static let prefixSize = 8

    /// The header: magic, tag, and a CRC of the two.
    static func header(tag: UInt64) -> [UInt8] {
        var bytes = magic
        put(tag, into: &bytes)
        put(CRC32.checksum(bytes), into: &bytes)
        return bytes
    }

    /// The tag a header names, or nil when it is not a whole, valid header.
    static func tag(inHeader bytes: ArraySlice<UInt8>) -> UInt64? {
        let size = magic.count + 8
        guard bytes.count >= size + 4, bytes.prefix(magic.count).elementsEqual(magic) else { return nil }
        var reader = Reader(bytes: bytes)
        reader.skip(magic.count)
        guard let tag = reader.uint64(), let crc = reader.uint32(), crc == CRC32.checksum(bytes.prefix(size)) else { return nil }
        return tag
    }

    /// One record holding `events`, numbered from `firstID`.
    static func encode(_ events: [(user: String, item: Int, timestamp: Int64, weight: Double?)], firstID: Int64, tag: UInt64) -> [UInt8] {
        var payload: [UInt8] = []
        payload.reserveCapacity(12 + events.count * 48)
        put(UInt64(bitPattern: firstID), into: &payload)
        put(UInt32(events.count), into: &payload)
        for event in events {
            put(UInt64(bitPattern: Int64(event.item)), into: &payload)
            put(UInt64(bitPattern: event.timestamp), into: &payload)
            payload.append(event.weight == nil ? 0 : 1)
            put((event.weight ?? 0).bitPattern, into: &payload)
            let user = Array(event.user.utf8)
            put(UInt32(user.count), into: &payload)
            payload.append(contentsOf: user)
        }
        var record: [UInt8] = []
        record.reserveCapacity(prefixSize + payload.count)
        put(UInt32(payload.count), into: &record)
        put(checksum(payload[...], tag: tag), into: &record)
        record.append(contentsOf: payload)
        return record
    }

    /// The events of every valid record in `bytes` (what follows the header), up to the first
    /// record that is not whole or not this tag's.
    static func decode(_ bytes: ArraySlice<UInt8>, tag: UInt64) -> [LoggedEvent] {
        var events: [LoggedEvent] = []
        var reader = Reader(bytes: bytes)
        while let length = reader.uint32(), let crc = reader.uint32(), length > 0,
              let payload = reader.bytes(Int(length)), crc == checksum(payload, tag: tag),
              let decoded = Self.events(in: payload) {
            events += decoded
        }
        return events
    }

    private static func events(in payload: ArraySlice<UInt8>) -> [LoggedEvent]? {
        var reader = Reader(bytes: payload)
        guard let first = reader.uint64(), let count = reader.uint32() else { return nil }
        var events: [LoggedEvent] = []
        for n in 0..<Int64(count) {
            guard let item = reader.uint64(), let timestamp = reader.uint64(), let flag = reader.bytes(1),
                  let weight = reader.uint64(), let length = reader.uint32(), let user = reader.bytes(Int(length)) else { return nil }
            events.append(LoggedEvent(id: Int64(bitPattern: first) + n, user: String(decoding: user, as: UTF8.self),
                                      item: Int(Int64(bitPattern: item)), timestamp: Int64(bitPattern: timestamp),
                                      weight: flag.first == 0 ? nil : Double(bitPattern: weight)))
        }
        return events
    }

    private static func checksum(_ payload: ArraySlice<UInt8>, tag: UInt64) -> UInt32 {
        var tagBytes: [UInt8] = []
        put(tag, into: &tagBytes)
        return CRC32.checksum(payload, continuing: CRC32.checksum(tagBytes[...]))
    }

    private static func put<T: FixedWidthInteger>(_ value: T, into bytes: inout [UInt8]) {
        withUnsafeBytes(of: value.littleEndian) { bytes.append(contentsOf: $0) }
    }

    /// Reads little-endian fields off the front of a slice; nil once too few bytes are left.
    private struct Reader {
        var bytes: ArraySlice<UInt8>

        mutating func skip(_ count: Int) { bytes = bytes.dropFirst(count) }

        mutating func bytes(_ count: Int) -> ArraySlice<UInt8>? {
            guard count >= 0, bytes.count >= count else { return nil }
            defer { bytes = bytes.dropFirst(count) }
            return bytes.prefix(count)
        }

        mutating func uint32() -> UInt32? { integer() }
        mutating func uint64() -> UInt64? { integer() }

        private mutating func integer<T: FixedWidthInteger>() -> T? {
            guard let field = bytes(MemoryLayout<T>.size) else { return nil }
            return field.reversed().reduce(T(0)) { $0 << 8 | T($1) }
        }
    }
}

/// CRC-32 (the IEEE polynomial, as zlib's `crc32`), table-driven.
enum CRC32 {
    private static let table: [UInt32] = (0..<256).map { n in
        (0..<8).reduce(UInt32(n)) { c, _ in c & 1 == 1 ? 0xEDB8_8320 ^ (c >> 1) : c >> 1 }
    }

    /// The CRC of `bytes`, or of the bytes before them (whose CRC is `previous`) and then them.
    static func checksum(_ bytes: ArraySlice<UInt8>, continuing previous: UInt32 = 0) -> UInt32 {
        var c = ~previous
        table.withUnsafeBufferPointer { table in
            for byte in bytes { c = table[Int((c ^ UInt32(byte)) & 0xFF)] ^ (c >> 8) }
        }
        return ~c
    }

    static func checksum(_ bytes: [UInt8]) -> UInt32 { checksum(bytes[...]) }
}
