/// The public surface of FusionCache.FSharp as a checked-in baseline (src/FusionCache.FSharp/PublicAPI.txt): a change
/// to it is a deliberate edit of that file, seen in review. Regenerate with FUSION_UPDATE_API=1.
module Fusion.FSharp.Tests.PublicApiTests

open System
open System.IO
open System.Reflection
open Xunit
open Fusion.FSharp
open Fusion.FSharp.Tests.Support

let rec private name (t: Type) : string =
    if t.IsGenericParameter then t.Name
    elif t.HasElementType then
        let element = match t.GetElementType() with null -> "?" | e -> name e
        element + (if t.IsArray then "[]" elif t.IsByRef then "&" else "*")
    else
        let full =
            match t.DeclaringType with
            | null -> $"{t.Namespace}.{t.Name}"
            | outer when t.IsNested -> $"{name outer}.{t.Name}"
            | _ -> $"{t.Namespace}.{t.Name}"
        if not t.IsGenericType then full
        else
            let tick = full.IndexOf '`'
            let bare = if tick < 0 then full else full.Substring(0, tick)
            let arguments = t.GetGenericArguments() |> Array.map name
            $"""{bare}<{String.Join(", ", arguments)}>"""

let private parameters (m: MethodBase) =
    String.Join(", ", m.GetParameters() |> Array.map (fun p -> $"{name p.ParameterType} {p.Name}"))

let private kind (t: Type) =
    if t.IsInterface then "interface" elif t.IsEnum then "enum" elif t.IsValueType then "struct"
    elif t.IsAbstract && t.IsSealed then "static class" else "class"

let private describe (m: MemberInfo) =
    match m with
    | :? MethodInfo as x ->
        let generics = if x.IsGenericMethodDefinition then $"""<{String.Join(", ", x.GetGenericArguments() |> Array.map (fun a -> a.Name))}>""" else ""
        Some $"""{(if x.IsStatic then "static " else "")}{x.Name}{generics}({parameters x}) -> {name x.ReturnType}"""
    | :? ConstructorInfo as x -> Some $"ctor({parameters x})"
    | :? PropertyInfo as x ->
        let setter = match x.SetMethod with null -> "" | s when s.IsPublic -> " set" | _ -> ""
        Some $"""{x.Name} : {name x.PropertyType}{(if x.CanRead then " get" else "")}{setter}"""
    | :? FieldInfo as x -> Some $"""{(if x.IsStatic then "static " else "")}{x.Name} : {name x.FieldType}"""
    | :? EventInfo as x -> Some $"event {x.Name}"
    | _ -> None

/// Every exported type and public member, one per line, sorted.
let surface (assembly: Assembly) =
    let flags = BindingFlags.Public ||| BindingFlags.Instance ||| BindingFlags.Static ||| BindingFlags.DeclaredOnly
    [ for t in assembly.GetExportedTypes() do
          let baseType = match t.BaseType with null -> "" | b when b = typeof<obj> || b = typeof<ValueType> -> "" | b -> " : " + name b
          yield $"{kind t} {name t}{baseType}"
          for m in t.GetMembers flags do
              match m with
              | :? MethodInfo as x when x.IsSpecialName && not (x.Name.StartsWith "op_") -> ()
              | :? Type -> ()
              | _ -> match describe m with Some line -> yield $"{name t}.{line}" | None -> () ]
    |> List.sortWith (fun a b -> String.CompareOrdinal(a, b))
    |> fun lines -> String.Join("\n", lines) + "\n"

[<Fact>]
let ``the public surface matches its baseline`` () =
    let actual = surface typeof<Options>.Assembly
    let file = Path.Combine(repositoryRoot (), "src", "FusionCache.FSharp", "PublicAPI.txt")
    if Environment.GetEnvironmentVariable "FUSION_UPDATE_API" = "1" then File.WriteAllText(file, actual)
    Assert.True(File.Exists file, $"{file} is missing: run the tests with FUSION_UPDATE_API=1 and review it")
    let expected = File.ReadAllText(file).ReplaceLineEndings("\n")
    let added = Set.ofArray (actual.Split '\n') - Set.ofArray (expected.Split '\n')
    let removed = Set.ofArray (expected.Split '\n') - Set.ofArray (actual.Split '\n')
    Assert.True(added.IsEmpty && removed.IsEmpty,
        $"""FusionCache.FSharp's public API changed (update {file} with FUSION_UPDATE_API=1 if it is meant to):
+ {String.Join("\n+ ", added)}
- {String.Join("\n- ", removed)}""")

[<Fact>]
let ``no public signature needs LanguageExt`` () =
    let flags = BindingFlags.Public ||| BindingFlags.Instance ||| BindingFlags.Static ||| BindingFlags.DeclaredOnly
    let offending =
        [ for t in typeof<Options>.Assembly.GetExportedTypes() do
              for m in t.GetMembers flags do
                  match describe m with
                  | Some line when line.Contains "LanguageExt." -> yield $"{name t}.{line}"
                  | _ -> () ]
    Assert.Empty(offending)
