using System.Text.Json;

namespace Fusion;

/// <summary>Turns values into the bytes L2 stores, and back. Implementations must be thread-safe.</summary>
public interface IFusionSerializer
{
    /// <summary>The bytes of <paramref name="value"/>.</summary>
    byte[] Serialize<T>(T value);

    /// <summary>The value in <paramref name="bytes"/>; throws when they do not hold a <typeparamref name="T"/>
    /// (the cache turns that into a miss and a log line).</summary>
    T Deserialize<T>(ReadOnlySpan<byte> bytes);
}

/// <summary>The default serializer: System.Text.Json with its default options (or yours).</summary>
public sealed class JsonFusionSerializer(JsonSerializerOptions? options = null) : IFusionSerializer
{
    private readonly JsonSerializerOptions _options = options ?? JsonSerializerOptions.Default;

    /// <inheritdoc />
    public byte[] Serialize<T>(T value) => JsonSerializer.SerializeToUtf8Bytes(value, _options);

    /// <inheritdoc />
    public T Deserialize<T>(ReadOnlySpan<byte> bytes) =>
        JsonSerializer.Deserialize<T>(bytes, _options) ?? throw new JsonException($"the payload is null, not a {typeof(T).Name}");
}
