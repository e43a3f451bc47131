using System.Buffers;
using System.Text.Json;

namespace Fusion;

/// <summary>Turns values into the bytes L2 stores, and back. Implementations must be thread-safe.</summary>
/// <remarks>The cache calls the buffer members (<see cref="Serialize{T}(T, IBufferWriter{byte})"/>,
/// <see cref="Deserialize{T}(ReadOnlySequence{byte})"/>): it writes the serializer's bytes straight into the pooled buffer
/// it sends to Redis, and reads them straight from the buffer Redis answered into. Their default implementations call
/// the array members, so a serializer that implements only those keeps working (with one array per value each way);
/// implement the buffer members too to save it.</remarks>
public interface IFusionSerializer
{
    /// <summary>The bytes of <paramref name="value"/>.</summary>
    byte[] Serialize<T>(T value);

    /// <summary>The value in <paramref name="bytes"/>; throws when they do not hold a <typeparamref name="T"/>
    /// (the cache turns that into a miss and a log line).</summary>
    T Deserialize<T>(ReadOnlySpan<byte> bytes);

    /// <summary>Writes the bytes of <paramref name="value"/> to <paramref name="destination"/> (after what it already
    /// holds). By default, the bytes of <see cref="Serialize{T}(T)"/>.</summary>
    void Serialize<T>(T value, IBufferWriter<byte> destination)
    {
        ArgumentNullException.ThrowIfNull(destination);
        destination.Write(Serialize(value));
    }

    /// <summary>The value in <paramref name="source"/> (valid only during the call: the cache reuses the memory after it);
    /// throws when it does not hold a <typeparamref name="T"/>. By default <see cref="Deserialize{T}(ReadOnlySpan{byte})"/>
    /// of its one segment, or of a copy of its segments when there are several.</summary>
    T Deserialize<T>(ReadOnlySequence<byte> source) =>
        source.IsSingleSegment ? Deserialize<T>(source.FirstSpan) : Deserialize<T>(source.ToArray());
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

    /// <inheritdoc />
    /// <remarks>Through a <see cref="Utf8JsonWriter"/> kept per thread (reset onto <paramref name="destination"/>): no
    /// intermediate array, no writer allocated per value.</remarks>
    public void Serialize<T>(T value, IBufferWriter<byte> destination)
    {
        ArgumentNullException.ThrowIfNull(destination);
        var writer = t_writer is { } cached && ReferenceEquals(t_writerOwner, this) ? cached : null;
        t_writer = null; // re-entry (a converter that serializes through this serializer) takes a writer of its own
        if (writer is null) writer = new Utf8JsonWriter(destination, WriterOptions);
        else writer.Reset(destination);
        try
        {
            JsonSerializer.Serialize(writer, value, Info<T>());
            writer.Flush();
        }
        finally
        {
            writer.Reset(NoOutput.Instance); // holds no reference to the caller's buffer
            t_writer = writer;
            t_writerOwner = this;
        }
    }

    /// <inheritdoc />
    public T Deserialize<T>(ReadOnlySequence<byte> source)
    {
        if (source.IsSingleSegment) return Deserialize<T>(source.FirstSpan);
        var reader = new Utf8JsonReader(source, ReaderOptions);
        return JsonSerializer.Deserialize(ref reader, Info<T>()) ?? throw new JsonException($"the payload is null, not a {typeof(T).Name}");
    }

    [ThreadStatic] private static Utf8JsonWriter? t_writer;
    [ThreadStatic] private static JsonFusionSerializer? t_writerOwner;

    private JsonWriterOptions WriterOptions => new()
    {
        Encoder = _options.Encoder,
        Indented = _options.WriteIndented,
#if NET9_0_OR_GREATER
        IndentCharacter = _options.IndentCharacter,
        IndentSize = _options.IndentSize,
        NewLine = _options.NewLine,
#endif
        MaxDepth = _options.MaxDepth,
        SkipValidation = true, // the serializer writes well-formed JSON (JsonSerializer.SerializeToUtf8Bytes skips it too)
    };

    private JsonReaderOptions ReaderOptions => new()
    {
        AllowTrailingCommas = _options.AllowTrailingCommas,
        CommentHandling = _options.ReadCommentHandling,
        MaxDepth = _options.MaxDepth,
    };

    private System.Text.Json.Serialization.Metadata.JsonTypeInfo<T> Info<T>() =>
        (System.Text.Json.Serialization.Metadata.JsonTypeInfo<T>)_options.GetTypeInfo(typeof(T));

    /// <summary>Where an idle writer points: it must not keep the last caller's buffer alive.</summary>
    private sealed class NoOutput : IBufferWriter<byte>
    {
        public static readonly NoOutput Instance = new();
        public void Advance(int count) { }
        public Memory<byte> GetMemory(int sizeHint = 0) => Memory<byte>.Empty;
        public Span<byte> GetSpan(int sizeHint = 0) => Span<byte>.Empty;
    }
}
