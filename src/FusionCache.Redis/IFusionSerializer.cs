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

/// <summary>
/// The default serializer: System.Text.Json. Without options it uses reflection, as JsonSerializer does by default; in a
/// trimmed or native AOT app (where reflection-based JSON is off), give it your source-generated context's options:
/// <c>new JsonFusionSerializer(MyJsonContext.Default.Options)</c>. Every call goes through
/// <see cref="JsonSerializerOptions.GetTypeInfo(Type)"/>, so the serializer itself needs no reflection.
/// </summary>
public sealed class JsonFusionSerializer(JsonSerializerOptions? options = null) : IFusionSerializer
{
    private readonly JsonSerializerOptions _options = options ?? DefaultOptions();

    // Reflection-based JSON only while the app allows it (the System.Text.Json feature switch, off in trimmed and AOT apps,
    // where the trimmer then drops this branch); otherwise options without a resolver, whose GetTypeInfo says what is missing.
    private static JsonSerializerOptions DefaultOptions() =>
        JsonSerializer.IsReflectionEnabledByDefault ? ReflectionOptions() : new JsonSerializerOptions();

    [System.Diagnostics.CodeAnalysis.UnconditionalSuppressMessage("Trimming", "IL2026",
        Justification = "Called only when JsonSerializer.IsReflectionEnabledByDefault: reflection-based serialization is on.")]
    [System.Diagnostics.CodeAnalysis.UnconditionalSuppressMessage("AOT", "IL3050",
        Justification = "Called only when JsonSerializer.IsReflectionEnabledByDefault: reflection-based serialization is on.")]
    private static JsonSerializerOptions ReflectionOptions() => JsonSerializerOptions.Default;

    /// <summary>A serializer over a source-generated context (trimming and native AOT).</summary>
    public JsonFusionSerializer(System.Text.Json.Serialization.JsonSerializerContext context)
        : this((context ?? throw new ArgumentNullException(nameof(context))).Options) { }

    /// <inheritdoc />
    public byte[] Serialize<T>(T value) => JsonSerializer.SerializeToUtf8Bytes(value, Info<T>());

    /// <inheritdoc />
    public T Deserialize<T>(ReadOnlySpan<byte> bytes) =>
        JsonSerializer.Deserialize(bytes, Info<T>()) ?? throw new JsonException($"the payload is null, not a {typeof(T).Name}");

    private System.Text.Json.Serialization.Metadata.JsonTypeInfo<T> Info<T>() =>
        (System.Text.Json.Serialization.Metadata.JsonTypeInfo<T>)_options.GetTypeInfo(typeof(T));
}
