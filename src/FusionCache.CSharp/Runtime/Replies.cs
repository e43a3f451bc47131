using Fusion.Core;
using LanguageExt;

namespace Fusion.Runtime;

/// <summary>Turns the core's untyped replies into the caller's typed results.</summary>
internal static class Replies
{
    public static Either<Err, T> ToEither<T>(string key, Reply reply) =>
        reply.IsValue ? Typed<T>(key, reply.Payload) : Either<Err, T>.Left(reply.Reason!);

    public static Either<Err, T> Typed<T>(string key, object payload) =>
        Cast.Try<T>(payload, out var v) ? Rights.Of(v) : Either<Err, T>.Left(WrongType<T>(key, payload));

    /// <summary>The error for a key that holds another type, naming both types in full (two <c>Product</c> types of
    /// different namespaces must not read the same).</summary>
    public static Err WrongType<T>(string key, object payload) =>
        Err.NewWrongType(key, TypeName(typeof(T)), TypeName(payload.GetType()));

    /// <summary>A type as C# writes it, namespace included: <c>System.Collections.Generic.List&lt;Shop.Product&gt;</c>,
    /// <c>Shop.Catalog+Product</c> for a nested type.</summary>
    internal static string TypeName(Type type)
    {
        if (type.IsArray) return TypeName(type.GetElementType()!) + "[" + new string(',', type.GetArrayRank() - 1) + "]";
        var name = type.FullName ?? type.Name;
        if (!type.IsGenericType) return name;
        var definition = type.GetGenericTypeDefinition().FullName ?? type.Name;
        var tick = definition.IndexOf('`');
        return (tick < 0 ? definition : definition[..tick]) + "<" + string.Join(", ", type.GetGenericArguments().Select(TypeName)) + ">";
    }

    /// <summary>What a caller whose token was cancelled gets.</summary>
    public static readonly Err CancelledErr = Err.NewCancelled("the caller's cancellation token was cancelled");
}
