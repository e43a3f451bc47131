namespace Fusion;

/// <summary>
/// How <see cref="FusionHybridCache"/> keeps a HybridCache value of type <typeparamref name="T"/> in Fusion, whose
/// values are never null: as it is when <typeparamref name="T"/> cannot be null (a non-nullable value type), else
/// inside a <see cref="HybridValue{T}"/>, so that null is cached like any other value, in L1 and in L2.
/// </summary>
internal interface IStoredForm<T, TStored>
{
    /// <summary>What Fusion stores for <paramref name="value"/>; never null.</summary>
    static abstract TStored Store(T value);

    /// <summary>The value <paramref name="stored"/> holds.</summary>
    static abstract T Load(TStored stored);
}

/// <summary>A non-nullable value type, stored as it is: no wrapper, no extra allocation.</summary>
internal readonly struct AsIs<T> : IStoredForm<T, T>
{
    public static T Store(T value) => value;

    public static T Load(T stored) => stored;
}

/// <summary>A reference type or a <see cref="Nullable{T}"/>, stored inside a <see cref="HybridValue{T}"/>.</summary>
internal readonly struct Wrapped<T> : IStoredForm<T, HybridValue<T>>
{
    public static HybridValue<T> Store(T value) => new(value);

    public static T Load(HybridValue<T> stored) => stored.Value!;
}

/// <summary>Which form a <typeparamref name="T"/> takes, decided once per type.</summary>
internal static class StoredForm<T>
{
    /// <summary><typeparamref name="T"/> cannot be null: it is stored as it is.</summary>
    public static readonly bool IsPlain = typeof(T).IsValueType && Nullable.GetUnderlyingType(typeof(T)) is null;
}

/// <summary>
/// A HybridCache value that may be null, as Fusion stores it (in L2 through its serializer: with the default
/// System.Text.Json one, <c>{"Value":…}</c>). A custom serializer given to Fusion must be able to write and read it.
/// </summary>
/// <param name="Value">The value; null is a value like any other.</param>
internal sealed record HybridValue<T>(T? Value);
