using System.Buffers;
using System.Buffers.Binary;
using Fusion.Core;

namespace Fusion.Distributed;

/// <summary>An L2 change ready to send (serialized already), so it can be retried or replayed as is.
/// <see cref="Timestamp"/> orders it among the same node's changes of the key (the recovery merge).</summary>
/// <remarks>A Put's envelope is written into an array rented from <see cref="ArrayPool{T}.Shared"/> (<see cref="Argument"/>
/// holds <see cref="Length"/> bytes of it) and sent to Redis as memory over that array. Its sender gives the array back
/// (<see cref="Release"/>) once Redis has answered; a write that goes to the recovery queue goes there as
/// <see cref="Kept"/> (an exact copy), so the queue never holds a pool's array and an abandoned send (a timeout: Redis
/// may still read the array) never returns one.</remarks>
internal sealed record L2Write(L2Write.Kind What, byte[] Argument, long PhysicalExpiry, long Timestamp)
{
    public enum Kind { Put, Remove, Expire }

    /// <summary>How many bytes of <see cref="Argument"/> are the argument (all of them unless rented).</summary>
    public int Length { get; private init; } = Argument.Length;

    private int _rented; // 1 while Argument is a pool's array not given back yet

    /// <summary>The argument: the envelope (Put, Remove) or the expire's stamps and instant.</summary>
    public ReadOnlyMemory<byte> Bytes => Argument.AsMemory(0, Length);

    /// <summary>Put or Remove: replaces whatever the key held (the merge keeps the newest); Expire only changes it.</summary>
    public bool Replaces => What != Kind.Expire;

    /// <summary>Gives a rented argument back to the pool: only once Redis has answered the write (it reads the array until then).</summary>
    public void Release()
    {
        if (Interlocked.Exchange(ref _rented, 0) == 1) ArrayPool<byte>.Shared.Return(Argument);
    }

    /// <summary>This write on an array of its own (exactly its bytes), to keep for a replay; this one when it is not rented.</summary>
    public L2Write Kept() => Volatile.Read(ref _rented) == 0 ? this : new(What, Bytes.ToArray(), PhysicalExpiry, Timestamp);

    /// <summary>The write for a core change; null for <c>Keep</c>. A Put's value is written by <paramref name="serializer"/>
    /// straight into the envelope's pooled buffer, LZ4-compressed when it is at least <paramref name="compressionThreshold"/>
    /// bytes (0: never).</summary>
    public static L2Write? From<T>(L2Change change, IFusionSerializer serializer, int compressionThreshold) => change switch
    {
        L2Change.Put put => Put<T>(put.Entry, serializer, compressionThreshold),
        L2Change.Remove remove => new(Kind.Remove, EnvelopeCodec.Tombstone(remove.Timestamp, remove.Origin),
            Ticks.add(remove.Timestamp, Lifecycle.TombstoneLifetime.Ticks), remove.Timestamp),
        L2Change.Expire expire => new(Kind.Expire, ExpireArgument(expire.Timestamp, expire.Origin, expire.At), Ticks.Never, expire.Timestamp),
        { IsKeep: true } => null,
        _ => throw new System.Diagnostics.UnreachableException(),
    };

    private static L2Write Put<T>(Entry entry, IFusionSerializer serializer, int compressionThreshold)
    {
        var writer = PooledBuffer.Rent();
        try
        {
            var payloadStart = EnvelopeCodec.WriteSections(writer, entry);
            serializer.Serialize((T)entry.Value, writer);
            EnvelopeCodec.FinishPayload(writer, payloadStart, compressionThreshold);
        }
        catch
        {
            writer.Abandon();
            throw;
        }
        var buffer = writer.Detach(out var length);
        return new L2Write(Kind.Put, buffer, entry.PhysicalExpiry, entry.Timestamp) { Length = length, _rented = 1 };
    }

    /// <summary>(timestamp, origin) for the guard, then the instant the value expires at: 24 bytes, big-endian.</summary>
    private static byte[] ExpireArgument(long timestamp, long origin, long at)
    {
        var bytes = new byte[24];
        BinaryPrimitives.WriteInt64BigEndian(bytes, timestamp);
        BinaryPrimitives.WriteInt64BigEndian(bytes.AsSpan(8), origin);
        BinaryPrimitives.WriteInt64BigEndian(bytes.AsSpan(16), at);
        return bytes;
    }
}
