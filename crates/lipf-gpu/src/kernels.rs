//! Pipelines, bind groups and buffers: the small vocabulary the backend is written in.
//!
//! A kernel is one entry point of one registry shader, declared once as a [`KernelId`] (shader
//! and entry point); its bindings, each a [`Bind`] kind, are read from the WGSL itself
//! ([`reflected_bindings`]), so a kernel's interface is declared once, in its shader, and nobody
//! writes a binding list or a `BindGroupLayoutEntry` by hand. Every pipeline is labelled with
//! `shader::entry`.

use crate::device::GpuContext;
use crate::shaders::shader;
use crate::GpuError;
use std::collections::HashMap;
use wgpu::util::DeviceExt;

/// Declares every kernel once: its Rust name, its shader (a [`crate::shaders::SHADERS`] entry)
/// and its entry point. The backend, the twin runner, the benchmarks, the impedance solver and
/// the tests name a kernel by its [`KernelId`]; its bindings come from the shader.
macro_rules! kernel_registry {
    ($($(#[$doc:meta])* $id:ident = $shader:literal :: $entry:literal;)*) => {
        /// A compute kernel: one entry point of one registry shader.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum KernelId {
            $($(#[$doc])* $id,)*
        }

        impl KernelId {
            /// Every kernel, in the order of the step (impedance kernels last).
            pub const ALL: &'static [KernelId] = &[$(KernelId::$id,)*];

            /// The shader (file stem in `shaders/`).
            pub fn shader(self) -> &'static str {
                match self {
                    $(KernelId::$id => $shader,)*
                }
            }

            /// The entry point in the shader.
            pub fn entry(self) -> &'static str {
                match self {
                    $(KernelId::$id => $entry,)*
                }
            }
        }
    };
}

kernel_registry! {
    XiRate = "xi_rate"::"xi_rate";
    PotentialAssemble = "potential_assemble"::"potential_assemble";
    ElectronicAssemble = "electronic_assemble"::"electronic_assemble";
    MgCoarsen = "mg_coarsen"::"mg_coarsen";
    MgSmooth = "mg_smooth"::"mg_smooth";
    MgResidual = "mg_residual"::"mg_residual";
    /// q = A x on one level (the CG's operator product).
    MgApply = "mg_residual"::"mg_apply";
    MgRestrict = "mg_restrict"::"mg_restrict";
    MgProlong = "mg_prolong"::"mg_prolong";
    DotPartials = "reduce"::"dot_partials";
    L1Partials = "reduce"::"l1_partials";
    ResidualNormPartials = "reduce"::"residual_norm_partials";
    Dot2Partials = "reduce"::"dot2_partials";
    L1Partials2 = "reduce"::"l1_2_partials";
    ResidualNorm2Partials = "reduce"::"residual_norm2_partials";
    CoupleResidual = "cg_coupled"::"couple_residual";
    CoupleApply = "cg_coupled"::"couple_apply";
    ShiftPotentials = "cg_coupled"::"shift_potentials";
    CgBegin = "cg_control"::"cg_begin";
    CgRz0 = "cg_control"::"cg_rz0";
    CgAlpha = "cg_control"::"cg_alpha";
    CgCheck = "cg_control"::"cg_check";
    CgBeta = "cg_control"::"cg_beta";
    CgEnd = "cg_control"::"cg_end";
    CgUpdateXr = "cg_vectors"::"cg_update_xr";
    CgUpdateP = "cg_vectors"::"cg_update_p";
    CollectorPotential = "collector"::"collector_potential";
    CombinePotential = "collector"::"combine_potential";
    AddScaledRhs = "collector"::"add_scaled_rhs";
    TopCurrent = "collector"::"top_current";
    ReactionRate = "reaction_rate"::"reaction_rate";
    StepBegin = "time_step"::"step_begin";
    DtPartials = "time_step"::"dt_partials";
    TimeStep = "time_step"::"time_step";
    /// The lock-step Nernst–Planck update (kept as a reference for the sub-steps).
    ConcUpdate = "conc_update"::"conc_update";
    NpCoefficients = "np_coefficients"::"np_coefficients";
    NpSubstep = "np_substep"::"np_substep";
    NpAssemble = "np_assemble"::"np_assemble";
    NpAssembleRhs = "np_assemble"::"np_assemble_rhs";
    NpFinish = "np_finish"::"np_finish";
    XiNoise = "xi_noise"::"xi_noise";
    XiUpdate = "xi_update"::"xi_update";
    XiGradientOperator = "xi_gradient_operator"::"xi_gradient_operator";
    XiGradientRhs = "xi_gradient_rhs"::"xi_gradient_rhs";
    XiGradientFinish = "xi_gradient_finish"::"xi_gradient_finish";
    CreepFirstGuess = "creep_active_set"::"creep_first_guess";
    CreepAssemble = "creep_assemble"::"creep_assemble";
    CreepActiveSet = "creep_active_set"::"creep_active_set";
    CreepFinish = "creep_finish"::"creep_finish";
    CreepFinishOutflow = "creep_finish"::"creep_finish_outflow";
    Copy = "copy"::"copy";
    FillZero = "copy"::"fill_zero";
    ObservablesPartials = "observables"::"observables_partials";
    RangeCheck = "range_check"::"range_check";
    ImpedanceBondAdmittance = "impedance_apply"::"bond_admittance";
    ImpedanceAssembleNode = "impedance_apply"::"assemble_node";
    ImpedanceApplyDot = "impedance_apply"::"apply_dot";
    ImpedanceResidual = "impedance_apply"::"residual";
    ImpedanceFinishInit = "impedance_cocg"::"finish_init";
    ImpedanceFinishAlpha = "impedance_cocg"::"finish_alpha";
    ImpedanceFinishBeta = "impedance_cocg"::"finish_beta";
    ImpedanceUpdateXr = "impedance_cocg"::"update_xr";
    ImpedanceUpdateP = "impedance_cocg"::"update_p";
}

impl KernelId {
    /// The kernels whose bind group this kernel's is (the CG control entries share one bind
    /// group per solve); empty when it has its own.
    pub fn shares_bind_group_with(self) -> &'static [KernelId] {
        const CG_CONTROL: &[KernelId] = &[
            KernelId::CgBegin,
            KernelId::CgRz0,
            KernelId::CgAlpha,
            KernelId::CgCheck,
            KernelId::CgBeta,
            KernelId::CgEnd,
        ];
        if CG_CONTROL.contains(&self) {
            CG_CONTROL
        } else {
            &[]
        }
    }

    /// The bindings as the WGSL declares them ([`reflected_bindings`]).
    pub fn bindings(self) -> Vec<(u32, Bind)> {
        reflected_bindings(self.shader(), self.entry())
    }

    /// `shader::entry`, the label of the kernel's pipeline.
    pub fn label(self) -> String {
        format!("{}::{}", self.shader(), self.entry())
    }
}

/// How a kernel binds one buffer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Bind {
    Uniform,
    Read,
    ReadWrite,
}

/// One compute pipeline and the layout of its only bind group.
pub struct Kernel {
    pub label: String,
    pub pipeline: wgpu::ComputePipeline,
    layout: wgpu::BindGroupLayout,
    bindings: Vec<(u32, Bind)>,
}

/// Shader modules, compiled once each, and bind-group layouts, one per binding list (kernels
/// with the same binding list share bind groups).
#[derive(Default)]
pub struct Modules {
    modules: HashMap<&'static str, wgpu::ShaderModule>,
    layouts: HashMap<Vec<(u32, Bind)>, wgpu::BindGroupLayout>,
}

impl Modules {
    fn get(&mut self, ctx: &GpuContext, name: &'static str) -> &wgpu::ShaderModule {
        self.modules.entry(name).or_insert_with(|| {
            #[cfg(feature = "mutants")]
            let source = crate::shaders::mutated(name, shader(name).source);
            #[cfg(not(feature = "mutants"))]
            let source = shader(name).source.into();
            ctx.device
                .create_shader_module(wgpu::ShaderModuleDescriptor {
                    label: Some(name),
                    source: wgpu::ShaderSource::Wgsl(source),
                })
        })
    }
}

/// The bindings of `shader::entry` as its WGSL declares them: every `@group(0)` variable the
/// entry point uses (naga's analysis of the whole module with its imports), in binding order,
/// as [`Bind::Uniform`], [`Bind::Read`] (`var<storage, read>`) or [`Bind::ReadWrite`]
/// (`var<storage, read_write>`). This is the only place a binding list comes from: the shader
/// declares each kernel's interface once.
pub fn reflected_bindings(shader_name: &'static str, entry: &str) -> Vec<(u32, Bind)> {
    use std::sync::{Mutex, OnceLock};
    type Parsed = (naga::Module, naga::valid::ModuleInfo);
    static CACHE: OnceLock<Mutex<HashMap<&'static str, &'static Parsed>>> = OnceLock::new();
    let parsed: &'static Parsed = CACHE
        .get_or_init(Default::default)
        .lock()
        .expect("shader reflection cache")
        .entry(shader_name)
        .or_insert_with(|| {
            let source = shader(shader_name).source;
            let module = naga::front::wgsl::parse_str(source)
                .unwrap_or_else(|e| panic!("{shader_name}.wgsl does not parse: {e}"));
            let info = naga::valid::Validator::new(
                naga::valid::ValidationFlags::all(),
                naga::valid::Capabilities::all(),
            )
            .validate(&module)
            .unwrap_or_else(|e| panic!("{shader_name}.wgsl does not validate: {e:?}"));
            Box::leak(Box::new((module, info)))
        });
    let (module, info) = parsed;
    let index = module
        .entry_points
        .iter()
        .position(|e| e.name == entry)
        .unwrap_or_else(|| panic!("{shader_name}.wgsl has no entry point `{entry}`"));
    let uses = info.get_entry_point(index);
    let mut bindings: Vec<(u32, Bind)> = module
        .global_variables
        .iter()
        .filter(|(h, _)| !uses[*h].is_empty())
        .filter_map(|(_, var)| {
            let rb = var.binding.as_ref()?;
            if rb.group != 0 {
                return None;
            }
            let kind = match var.space {
                naga::AddressSpace::Uniform => Bind::Uniform,
                naga::AddressSpace::Storage { access } => {
                    if access.contains(naga::StorageAccess::STORE) {
                        Bind::ReadWrite
                    } else {
                        Bind::Read
                    }
                }
                _ => return None,
            };
            Some((rb.binding, kind))
        })
        .collect();
    bindings.sort_by_key(|b| b.0);
    bindings
}

impl Kernel {
    /// The pipeline of kernel `id`, its bindings as the WGSL declares them
    /// ([`reflected_bindings`]). Where the kernel shares its bind group
    /// ([`KernelId::shares_bind_group_with`]), the layout holds every binding any of the sharing
    /// entries uses (a binding an entry does not use is allowed in its layout), so one bind group
    /// serves them all.
    pub fn new(ctx: &GpuContext, modules: &mut Modules, id: KernelId) -> Result<Kernel, GpuError> {
        let (shader_name, entry) = (id.shader(), id.entry());
        let mut bindings = id.bindings();
        for other in id.shares_bind_group_with() {
            assert_eq!(
                other.shader(),
                shader_name,
                "{id:?} shares with another shader"
            );
            for b in other.bindings() {
                match bindings.iter().find(|x| x.0 == b.0) {
                    Some(x) => assert_eq!(
                        x.1,
                        b.1,
                        "{shader_name}: entries `{entry}` and `{}` bind {} differently",
                        other.entry(),
                        b.0
                    ),
                    None => bindings.push(b),
                }
            }
        }
        bindings.sort_by_key(|b| b.0);
        let bindings = &bindings[..];
        let label = id.label();
        let scope = ctx.device.push_error_scope(wgpu::ErrorFilter::Validation);
        let entries: Vec<wgpu::BindGroupLayoutEntry> = bindings
            .iter()
            .map(|&(binding, kind)| wgpu::BindGroupLayoutEntry {
                binding,
                visibility: wgpu::ShaderStages::COMPUTE,
                ty: wgpu::BindingType::Buffer {
                    ty: match kind {
                        Bind::Uniform => wgpu::BufferBindingType::Uniform,
                        Bind::Read => wgpu::BufferBindingType::Storage { read_only: true },
                        Bind::ReadWrite => wgpu::BufferBindingType::Storage { read_only: false },
                    },
                    has_dynamic_offset: false,
                    min_binding_size: None,
                },
                count: None,
            })
            .collect();
        let layout = modules
            .layouts
            .entry(bindings.to_vec())
            .or_insert_with(|| {
                ctx.device
                    .create_bind_group_layout(&wgpu::BindGroupLayoutDescriptor {
                        label: Some(&label),
                        entries: &entries,
                    })
            })
            .clone();
        let pipeline_layout = ctx
            .device
            .create_pipeline_layout(&wgpu::PipelineLayoutDescriptor {
                label: Some(&label),
                bind_group_layouts: &[Some(&layout)],
                immediate_size: 0,
            });
        let module = modules.get(ctx, shader_name);
        let pipeline = ctx
            .device
            .create_compute_pipeline(&wgpu::ComputePipelineDescriptor {
                label: Some(&label),
                layout: Some(&pipeline_layout),
                module,
                entry_point: Some(entry),
                compilation_options: Default::default(),
                cache: None,
            });
        if let Some(e) = pollster::block_on(scope.pop()) {
            return Err(GpuError::Pipeline {
                kernel: label,
                message: e.to_string(),
            });
        }
        Ok(Kernel {
            label,
            pipeline,
            layout,
            bindings: bindings.to_vec(),
        })
    }

    /// [`Self::bind`] with the buffer of binding `slot` bound from `offset` for `size` bytes
    /// (`offset` a multiple of the device's storage offset alignment).
    pub fn bind_slot(
        &self,
        ctx: &GpuContext,
        buffers: &[&wgpu::Buffer],
        slot: u32,
        offset: u64,
        size: u64,
    ) -> wgpu::BindGroup {
        self.bind_with(ctx, buffers, Some((slot, offset, size)))
    }

    /// A bind group with `buffers` in the order of the kernel's bindings.
    pub fn bind(&self, ctx: &GpuContext, buffers: &[&wgpu::Buffer]) -> wgpu::BindGroup {
        self.bind_with(ctx, buffers, None)
    }

    /// Every buffer bound whole, except the binding of `slot` = (binding, offset, size).
    fn bind_with(
        &self,
        ctx: &GpuContext,
        buffers: &[&wgpu::Buffer],
        slot: Option<(u32, u64, u64)>,
    ) -> wgpu::BindGroup {
        assert_eq!(
            buffers.len(),
            self.bindings.len(),
            "{}: {} buffers for {} bindings",
            self.label,
            buffers.len(),
            self.bindings.len()
        );
        let entries: Vec<wgpu::BindGroupEntry> = self
            .bindings
            .iter()
            .zip(buffers)
            .map(|(&(binding, _), b)| wgpu::BindGroupEntry {
                binding,
                resource: match slot {
                    Some((s, offset, size)) if s == binding => {
                        wgpu::BindingResource::Buffer(wgpu::BufferBinding {
                            buffer: b,
                            offset,
                            size: wgpu::BufferSize::new(size),
                        })
                    }
                    _ => b.as_entire_binding(),
                },
            })
            .collect();
        ctx.device.create_bind_group(&wgpu::BindGroupDescriptor {
            label: Some(&self.label),
            layout: &self.layout,
            entries: &entries,
        })
    }
}

/// Usage of every field buffer: bound as storage, copied in and out.
pub const FIELD_USAGE: wgpu::BufferUsages = wgpu::BufferUsages::STORAGE
    .union(wgpu::BufferUsages::COPY_SRC)
    .union(wgpu::BufferUsages::COPY_DST);

/// A zeroed storage buffer of `len` f32 (at least one element: empty bindings are invalid).
pub fn storage_f32(ctx: &GpuContext, label: &str, len: usize) -> wgpu::Buffer {
    storage_bytes(ctx, label, 4 * len.max(1) as u64, FIELD_USAGE)
}

pub fn storage_bytes(
    ctx: &GpuContext,
    label: &str,
    bytes: u64,
    usage: wgpu::BufferUsages,
) -> wgpu::Buffer {
    ctx.device.create_buffer(&wgpu::BufferDescriptor {
        label: Some(label),
        size: bytes.max(16).div_ceil(4) * 4,
        usage,
        mapped_at_creation: false,
    })
}

/// A uniform buffer holding `value`.
pub fn uniform<T: bytemuck::Pod>(ctx: &GpuContext, label: &str, value: &T) -> wgpu::Buffer {
    ctx.device
        .create_buffer_init(&wgpu::util::BufferInitDescriptor {
            label: Some(label),
            contents: bytemuck::bytes_of(value),
            usage: wgpu::BufferUsages::UNIFORM | wgpu::BufferUsages::COPY_DST,
        })
}

/// Uploads f64 values as f32.
pub fn upload_f64(ctx: &GpuContext, buffer: &wgpu::Buffer, values: &[f64]) {
    let v: Vec<f32> = values.iter().map(|&x| x as f32).collect();
    ctx.queue.write_buffer(buffer, 0, bytemuck::cast_slice(&v));
}

/// Copies `bytes` from the start of each source into a mappable buffer and returns them,
/// in order. One submission, one wait.
pub fn download(ctx: &GpuContext, sources: &[(&wgpu::Buffer, u64)]) -> Vec<Vec<u8>> {
    let total: u64 = sources.iter().map(|(_, b)| b.div_ceil(256) * 256).sum();
    let staging = ctx.device.create_buffer(&wgpu::BufferDescriptor {
        label: Some("readback"),
        size: total.max(256),
        usage: wgpu::BufferUsages::MAP_READ | wgpu::BufferUsages::COPY_DST,
        mapped_at_creation: false,
    });
    let mut enc = ctx
        .device
        .create_command_encoder(&wgpu::CommandEncoderDescriptor {
            label: Some("readback"),
        });
    let mut offsets = Vec::new();
    let mut off = 0u64;
    for (buf, bytes) in sources {
        enc.copy_buffer_to_buffer(buf, 0, &staging, off, *bytes);
        offsets.push((off, *bytes));
        off += bytes.div_ceil(256) * 256;
    }
    ctx.queue.submit(Some(enc.finish()));
    let slice = staging.slice(..);
    slice.map_async(wgpu::MapMode::Read, |r| {
        r.expect("mapping the readback buffer");
    });
    ctx.wait();
    let out = {
        let view = slice.get_mapped_range().expect("mapped readback");
        offsets
            .iter()
            .map(|&(o, b)| view[o as usize..(o + b) as usize].to_vec())
            .collect()
    };
    staging.unmap();
    out
}

/// Downloads f32 fields and widens them to f64.
pub fn download_f32(ctx: &GpuContext, sources: &[(&wgpu::Buffer, usize)]) -> Vec<Vec<f64>> {
    let req: Vec<(&wgpu::Buffer, u64)> = sources.iter().map(|(b, n)| (*b, 4 * *n as u64)).collect();
    download(ctx, &req)
        .into_iter()
        .map(|bytes| {
            bytemuck::cast_slice::<u8, f32>(&bytes)
                .iter()
                .map(|&x| x as f64)
                .collect()
        })
        .collect()
}

/// Workgroups of 16×16 covering an nx × ny grid.
pub fn grid_groups(nx: usize, ny: usize) -> [u32; 3] {
    [nx.div_ceil(16) as u32, ny.div_ceil(16) as u32, 1]
}

/// Workgroups of 16×16 cells covering an [nx, ny, nz] grid, one z-section per workgroup layer.
pub fn volume_groups([nx, ny, nz]: [usize; 3]) -> [u32; 3] {
    [nx.div_ceil(16) as u32, ny.div_ceil(16) as u32, nz as u32]
}

/// Workgroups of the grid-stride reductions over n cells (at most [`MAX_PARTIALS`]).
pub fn reduce_groups(n: usize) -> u32 {
    n.div_ceil(256).clamp(1, MAX_PARTIALS) as u32
}

/// Largest number of per-workgroup partials of one reduction.
pub const MAX_PARTIALS: usize = 1024;
