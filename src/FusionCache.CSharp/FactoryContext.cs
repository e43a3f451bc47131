using Fusion.Core;
using LanguageExt;

namespace Fusion;

/// <summary>What a factory is given: the key, its token, what the source said about the stale value (for a conditional
/// refresh); and what it may say about the entry it produces. The factory shapes that let C# infer the value type take
/// this class; <see cref="FactoryContext{T}"/> adds the typed stale value and <see cref="FactoryContext{T}.NotModified"/>.</summary>
public abstract class FactoryContext
{
    /// <summary>The longest ETag kept, in characters.</summary>
    public const int MaxETagLength = 8192;

    private string? _etag;

    private protected FactoryContext(string key, object? stale, Validator staleValidator, CancellationToken cancellationToken)
    {
        Key = key;
        Stale = stale;
        if (stale is not null)
        {
            StaleETag = staleValidator.ETag;
            StaleLastModified = staleValidator.LastModified == 0 ? null : new DateTimeOffset(staleValidator.LastModified, TimeSpan.Zero);
        }
        CancellationToken = cancellationToken;
    }

    /// <summary>The stale value, boxed; null for none.</summary>
    private protected object? Stale { get; }

    /// <summary>The key being computed.</summary>
    public string Key { get; }

    /// <summary>Whether a value is held for the key (stale, or still valid and being refreshed) and is of the type asked
    /// for. There is one with fail-safe on (it keeps entries past their duration) or during an eager refresh.</summary>
    public bool HasStaleValue => Stale is not null;

    /// <summary>The ETag the source gave with the stale value (an earlier run set <see cref="ETag"/>); null for none.
    /// Send it as <c>If-None-Match</c> and answer not-modified on a 304.</summary>
    public string? StaleETag { get; }

    /// <summary>When the source said the stale value last changed (an earlier run set <see cref="LastModified"/>); null
    /// for none. Send it as <c>If-Modified-Since</c>.</summary>
    public DateTimeOffset? StaleLastModified { get; }

    /// <summary>
    /// Cancelled only when every caller waiting on this factory has given up and a timed-out factory may
    /// not complete in the background.
    /// </summary>
    public CancellationToken CancellationToken { get; }

    /// <summary>
    /// Adaptive caching: options for the entry this run produces, laid over the caller's (only what they set):
    /// its duration, fail-safe, tags, skip flags… Read once the factory has returned; the caller's options object is
    /// never changed, and each caller's reply still follows its own options. Null (the default): the caller's.
    /// </summary>
    public FusionCacheEntryOptions? EntryOptions { get; set; }

    /// <summary>The ETag of the value this run produces, stored with it (in L2 too) and given to the next run as
    /// <see cref="StaleETag"/>. Null (the default): none; with not-modified, the stale value's is kept.</summary>
    /// <exception cref="ArgumentOutOfRangeException">Longer than <see cref="MaxETagLength"/> characters.</exception>
    public string? ETag
    {
        get => _etag;
        set
        {
            if (value is { Length: > MaxETagLength })
                throw new ArgumentOutOfRangeException(nameof(ETag), value.Length, $"ETag is {value.Length} characters long, at most {MaxETagLength}.");
            _etag = string.IsNullOrEmpty(value) ? null : value;
        }
    }

    /// <summary>When the source says the value this run produces last changed; stored with it and given to the next run
    /// as <see cref="StaleLastModified"/>. Null (the default): none; with not-modified, the stale value's is kept.</summary>
    public DateTimeOffset? LastModified { get; set; }

    /// <summary>Whether the factory answered not-modified.</summary>
    public bool IsNotModified { get; private protected set; }

    /// <summary>A factory error naming the key: <c>return ctx.Fail("no such product");</c> (an <see cref="Err"/> converts to a
    /// <c>Left</c> where the factory's <c>Either</c> is expected).</summary>
    public Err Fail(string reason) => Err.NewFactoryFailed($"{reason} (key '{Key}')", null);

    /// <summary>A factory error from an exception, naming the key; the exception is kept in <see cref="Err.FactoryFailed"/>.</summary>
    public Err Fail(Exception exception)
    {
        ArgumentNullException.ThrowIfNull(exception);
        return Err.NewFactoryFailed($"{exception.Message} (key '{Key}')", exception);
    }

    /// <summary>A value: <c>return ctx.Ok(count);</c> (beside <see cref="Fail(string)"/>, the two answers of an <c>Either</c> factory).</summary>
    public Either<Err, TValue> Ok<TValue>(TValue value) => Either<Err, TValue>.Right(value);

    /// <summary>A new value, with what the source said about it (its ETag and LastModified), for the next conditional refresh.</summary>
    public Either<Err, TValue> Modified<TValue>(TValue value, string? etag = null, DateTimeOffset? lastModified = null)
    {
        ETag = etag;
        LastModified = lastModified;
        IsNotModified = false;
        return Either<Err, TValue>.Right(value);
    }

    /// <summary>
    /// Conditional refresh: the source says the stale value has not changed. Return what this gives: the stale value is
    /// stored again as fresh (a new write of it, in L2 too, with its ETag and LastModified unless this run set new ones)
    /// and returned, without a new payload. With no stale value of type <typeparamref name="TValue"/>, an error naming the
    /// key (the caller sees the factory fail).
    /// </summary>
    public Either<Err, TValue> NotModified<TValue>()
    {
        if (Stale is not TValue stale)
            return Either<Err, TValue>.Left(Err.NewFactoryFailed($"the factory for key '{Key}' answered not modified, but there is no stale value to keep", null));
        IsNotModified = true;
        return Either<Err, TValue>.Right(stale);
    }

    /// <summary>What this run said about its value, for the core.</summary>
    internal Validator Validator => new(_etag, LastModified is { } at ? at.UtcTicks : 0L);
}

/// <summary>A <see cref="FactoryContext"/> that knows the value type: the stale value typed, and <see cref="NotModified"/>.</summary>
/// <typeparam name="T">The value type.</typeparam>
public sealed class FactoryContext<T> : FactoryContext
{
    internal FactoryContext(string key, Option<T> staleValue, Validator staleValidator, CancellationToken cancellationToken)
        : base(key, staleValue.IsSome ? staleValue.Case : null, staleValidator, cancellationToken) =>
        StaleValue = staleValue;

    /// <summary>The value held for the key (stale, or still valid and being refreshed), if any and of type <typeparamref name="T"/>.
    /// There is one with fail-safe on (it keeps entries past their duration) or during an eager refresh.</summary>
    public Option<T> StaleValue { get; }

    /// <summary>
    /// Conditional refresh: the source says <see cref="StaleValue"/> has not changed. Return what this gives: the stale
    /// value is stored again as fresh (a new write of it, in L2 too, with its ETag and LastModified unless this run set
    /// new ones) and returned, without a new payload. With no stale value, an error (the caller sees the factory fail).
    /// </summary>
    public Either<Err, T> NotModified() => NotModified<T>();

    /// <summary>A new value, with what the source said about it (its ETag and LastModified), for the next conditional refresh.</summary>
    public Either<Err, T> Modified(T value, string? etag = null, DateTimeOffset? lastModified = null) => Modified<T>(value, etag, lastModified);
}
