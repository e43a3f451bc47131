using System.Buffers;

namespace Fusion.Distributed;

/// <summary>
/// An <see cref="IBufferWriter{T}"/> over one contiguous array rented from <see cref="ArrayPool{T}.Shared"/>: the envelope
/// is written into it (header, tags, validator, then the serializer's bytes), handed to StackExchange.Redis as a
/// <see cref="ReadOnlyMemory{T}"/> (no copy), and the array goes back to the pool once Redis has answered the write
/// (<see cref="L2Write.Release"/>). Not thread-safe; one writer per envelope, reused on its thread (<see cref="Rent"/>).
/// </summary>
internal sealed class PooledBuffer : IBufferWriter<byte>
{
    private const int InitialSize = 512;
    private byte[] _buffer = [];
    private int _written;

    [ThreadStatic] private static PooledBuffer? t_spare;

    /// <summary>A writer with nothing written: this thread's spare, else a new one. Give it back with <see cref="Detach"/>.</summary>
    public static PooledBuffer Rent()
    {
        var writer = t_spare ?? new PooledBuffer();
        t_spare = null; // a serializer that writes an envelope of its own meanwhile (re-entry) gets another writer
        return writer;
    }

    /// <summary>Bytes written so far.</summary>
    public int WrittenCount => _written;

    /// <summary>The bytes written so far, writable (the encoder patches the flags byte).</summary>
    public Span<byte> Written => _buffer.AsSpan(0, _written);

    /// <summary>Forgets what was written after the first <paramref name="length"/> bytes.</summary>
    public void Truncate(int length)
    {
        if ((uint)length > (uint)_written) throw new ArgumentOutOfRangeException(nameof(length));
        _written = length;
    }

    /// <summary>Hands the rented array (holding <paramref name="length"/> bytes) to the caller, who returns it to the pool;
    /// the writer goes back to this thread for the next envelope.</summary>
    public byte[] Detach(out int length)
    {
        var buffer = _buffer;
        length = _written;
        _buffer = [];
        _written = 0;
        t_spare = this;
        return buffer;
    }

    /// <summary>Gives the array back to the pool after a failed encode, and the writer back to this thread.</summary>
    public void Abandon()
    {
        var buffer = Detach(out _);
        if (buffer.Length > 0) ArrayPool<byte>.Shared.Return(buffer);
    }

    public void Advance(int count)
    {
        if (count < 0 || _written + count > _buffer.Length) throw new ArgumentOutOfRangeException(nameof(count));
        _written += count;
    }

    public Memory<byte> GetMemory(int sizeHint = 0)
    {
        Ensure(sizeHint);
        return _buffer.AsMemory(_written);
    }

    public Span<byte> GetSpan(int sizeHint = 0)
    {
        Ensure(sizeHint);
        return _buffer.AsSpan(_written);
    }

    private void Ensure(int sizeHint)
    {
        if (sizeHint < 1) sizeHint = 1;
        if (_buffer.Length - _written >= sizeHint) return;
        var needed = checked(_written + sizeHint);
        var size = Math.Max(needed, Math.Max(InitialSize, _buffer.Length <= Array.MaxLength / 2 ? _buffer.Length * 2 : Array.MaxLength));
        var larger = ArrayPool<byte>.Shared.Rent(size);
        if (_written > 0) _buffer.AsSpan(0, _written).CopyTo(larger);
        if (_buffer.Length > 0) ArrayPool<byte>.Shared.Return(_buffer);
        _buffer = larger;
    }
}
