using System.Reflection;
using System.Text;

namespace Fusion.Tests.Api;

/// <summary>
/// What checks each package's public surface. The C# packages (FusionCache.CSharp, .Redis, .Hosting): the build, by
/// Microsoft.CodeAnalysis.PublicApiAnalyzers against <c>src/*/PublicAPI.Shipped.txt</c> and <c>PublicAPI.Unshipped.txt</c>
/// (src/Directory.Build.props; regenerate with <c>eng/update-public-api.sh</c>). The F# core, which that analyzer cannot
/// read: <see cref="ThePublicSurface_MatchesItsBaseline"/> here, against the checked-in <c>src/FusionCache.Core/PublicAPI.txt</c>
/// (regenerate with FUSION_UPDATE_API=1). Either way a change of the surface is a deliberate edit of a file, seen in
/// review. And for the C# packages, <see cref="NoCSharpSignature_ExposesAnFSharpRecordOrValueOption"/>: no C# signature
/// exposes an F# record or FSharpValueOption.
/// </summary>
public sealed class PublicApiTests
{
    public static TheoryData<string, string> Packages() => new()
    {
        { "FusionCache.Core", "FusionCache.Core" }, // the C# packages: PublicApiAnalyzers, at build time
    };

    [Theory]
    [MemberData(nameof(Packages))]
    public void ThePublicSurface_MatchesItsBaseline(string assemblyName, string project)
    {
        var actual = Surface(Assembly.Load(assemblyName));
        var file = Path.Combine(RepositoryRoot(), "src", project, "PublicAPI.txt");
        if (Environment.GetEnvironmentVariable("FUSION_UPDATE_API") == "1") File.WriteAllText(file, actual);
        Assert.True(File.Exists(file), $"{file} is missing: run the tests with FUSION_UPDATE_API=1 and review it");
        var expected = File.ReadAllText(file).ReplaceLineEndings("\n");
        var added = actual.Split('\n').Except(expected.Split('\n')).ToList();
        var removed = expected.Split('\n').Except(actual.Split('\n')).ToList();
        Assert.True(added.Count == 0 && removed.Count == 0,
            $"{project}'s public API changed (update {file} with FUSION_UPDATE_API=1 if it is meant to):\n+ {string.Join("\n+ ", added)}\n- {string.Join("\n- ", removed)}");
    }

    [Theory]
    [InlineData("FusionCache.CSharp")]
    [InlineData("FusionCache.Redis")]
    [InlineData("FusionCache.Hosting")]
    public void NoCSharpSignature_ExposesAnFSharpRecordOrValueOption(string assemblyName)
    {
        var offending = Members(Assembly.Load(assemblyName))
            .SelectMany(m => SignatureTypes(m).Select(t => (Member: m, Type: t)))
            .Where(x => IsFSharpRecord(x.Type) || x.Type.FullName?.StartsWith("Microsoft.FSharp.Core.FSharpValueOption", StringComparison.Ordinal) == true)
            .Select(x => $"{x.Member.DeclaringType}.{x.Member.Name}: {x.Type}")
            .ToList();

        Assert.True(offending.Count == 0, string.Join("\n", offending));
    }

    private static bool IsFSharpRecord(Type t) =>
        t.GetCustomAttributesData().Any(a => a.AttributeType.FullName == "Microsoft.FSharp.Core.CompilationMappingAttribute"
            && a.ConstructorArguments.Count > 0 && a.ConstructorArguments[0].Value is int kind && kind == 2); // SourceConstructFlags.RecordType

    private static IEnumerable<Type> SignatureTypes(MemberInfo m)
    {
        IEnumerable<Type> Unwrap(Type t) => t.IsGenericType ? t.GetGenericArguments().SelectMany(Unwrap).Prepend(t) : t.HasElementType ? Unwrap(t.GetElementType()!) : [t];
        return m switch
        {
            MethodInfo x => x.GetParameters().Select(p => p.ParameterType).Append(x.ReturnType).SelectMany(Unwrap),
            ConstructorInfo x => x.GetParameters().Select(p => p.ParameterType).SelectMany(Unwrap),
            PropertyInfo x => Unwrap(x.PropertyType),
            FieldInfo x => Unwrap(x.FieldType),
            EventInfo x => Unwrap(x.EventHandlerType!),
            _ => [],
        };
    }

    private static IEnumerable<MemberInfo> Members(Assembly assembly) =>
        assembly.GetExportedTypes().SelectMany(t => t.GetMembers(BindingFlags.Public | BindingFlags.Instance | BindingFlags.Static | BindingFlags.DeclaredOnly)
            .Where(m => m is not MethodInfo { IsSpecialName: true } || m.Name.StartsWith("op_", StringComparison.Ordinal)));

    /// <summary>Every exported type and public member, one per line, sorted.</summary>
    private static string Surface(Assembly assembly)
    {
        var lines = new SortedSet<string>(StringComparer.Ordinal);
        foreach (var type in assembly.GetExportedTypes())
        {
            lines.Add($"{Kind(type)} {Name(type)}{(type.BaseType is { } b && b != typeof(object) && b != typeof(ValueType) && b != typeof(Enum) ? " : " + Name(b) : "")}");
            foreach (var member in Members(assembly).Where(m => m.DeclaringType == type))
                lines.Add($"{Name(type)}.{Describe(member)}");
        }
        return string.Join("\n", lines) + "\n";
    }

    private static string Kind(Type t) => t.IsInterface ? "interface" : t.IsEnum ? "enum" : t.IsValueType ? "struct" : t.IsAbstract && t.IsSealed ? "static class" : "class";

    private static string Describe(MemberInfo m) => m switch
    {
        MethodInfo x => $"{(x.IsStatic ? "static " : "")}{x.Name}{Generics(x)}({Parameters(x)}) -> {Name(x.ReturnType)}",
        ConstructorInfo x => $"ctor({Parameters(x)})",
        PropertyInfo x => $"{x.Name} : {Name(x.PropertyType)}{(x.CanRead ? " get" : "")}{(x.SetMethod is { IsPublic: true } s ? (s.ReturnParameter.GetRequiredCustomModifiers().Any(c => c.Name == "IsExternalInit") ? " init" : " set") : "")}",
        FieldInfo x => $"{(x.IsStatic ? "static " : "")}{(x.IsLiteral ? "const " : "")}{x.Name} : {Name(x.FieldType)}",
        EventInfo x => $"event {x.Name} : {Name(x.EventHandlerType!)}",
        Type x => $"nested {Name(x)}",
        _ => m.Name,
    };

    private static string Generics(MethodInfo m) => m.IsGenericMethodDefinition ? $"<{string.Join(", ", m.GetGenericArguments().Select(a => a.Name))}>" : "";

    private static string Parameters(MethodBase m) => string.Join(", ", m.GetParameters().Select(p => $"{Name(p.ParameterType)} {p.Name}{(p.HasDefaultValue ? " = " + (p.DefaultValue ?? "null") : "")}"));

    private static string Name(Type t)
    {
        if (t.IsGenericParameter) return t.Name;
        if (t.HasElementType) return Name(t.GetElementType()!) + (t.IsArray ? "[]" : t.IsByRef ? "&" : "*");
        var name = t.IsNested ? $"{Name(t.DeclaringType!)}.{t.Name}" : $"{t.Namespace}.{t.Name}";
        if (!t.IsGenericType) return name;
        var tick = name.IndexOf('`');
        return $"{(tick < 0 ? name : name[..tick])}<{string.Join(", ", t.GetGenericArguments().Select(Name))}>";
    }

    private static string RepositoryRoot()
    {
        var dir = new DirectoryInfo(AppContext.BaseDirectory);
        while (dir is not null && !File.Exists(Path.Combine(dir.FullName, "Fusion.sln"))) dir = dir.Parent;
        return dir?.FullName ?? throw new InvalidOperationException("Fusion.sln not found above " + AppContext.BaseDirectory);
    }
}
