using System.Runtime.CompilerServices;

namespace Fusion.Runtime;

/// <summary>The typed read of a boxed cached value.</summary>
internal static class Cast
{
    /// <summary>
    /// <c>value is T</c>, faster for reference types read as their own type (the common case): code
    /// shared by every reference <typeparamref name="T"/> turns <c>is T</c> into two calls into the
    /// runtime's cast helpers, while an exact type comparison is one load and a compare.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static bool Try<T>(object value, out T result)
    {
        if (!typeof(T).IsValueType && value.GetType() == typeof(T))
        {
            result = Unsafe.As<object, T>(ref value);
            return true;
        }
        if (value is T typed)
        {
            result = typed;
            return true;
        }
        result = default!;
        return false;
    }
}
