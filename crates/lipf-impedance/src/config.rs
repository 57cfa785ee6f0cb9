//! The JSON configuration of `lipf impedance` (units in the field names; unknown fields are
//! errors, with their path). Every field has a default: the seed's model structure with the
//! parameters of its Figure 2.

use crate::params::{Materials, ModelStructure, Sweep};
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct ImpedanceConfig {
    /// Name; the default output folder is `runs/impedance-<name>`.
    pub name: String,
    pub structure: ModelStructure,
    pub materials: Materials,
    pub sweep: Sweep,
    pub analysis: AnalysisConfig,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct AnalysisConfig {
    /// Number of RC elements of the R0 + n RC fit (the seed's fit model: 4). 0: no fit.
    pub fit_elements: usize,
    /// RC elements of the linear KK test; `null`: automatic (μ criterion, c = 0.85).
    pub kk_elements: Option<usize>,
    /// DRT regularisation parameter; `null`: generalised cross-validation.
    pub drt_lambda: Option<f64>,
    /// Gaussian FWHM of the DRT basis, in units of the spacing of ln τ.
    pub drt_fwhm_factor: f64,
}

impl Default for AnalysisConfig {
    fn default() -> Self {
        AnalysisConfig {
            fit_elements: 4,
            kk_elements: None,
            drt_lambda: None,
            drt_fwhm_factor: 1.5,
        }
    }
}

impl Default for ImpedanceConfig {
    fn default() -> Self {
        ImpedanceConfig {
            name: "model-structure".into(),
            structure: ModelStructure::default(),
            materials: Materials::default(),
            sweep: Sweep::default(),
            analysis: AnalysisConfig::default(),
        }
    }
}

impl ImpedanceConfig {
    pub fn from_json_str(text: &str) -> Result<ImpedanceConfig, String> {
        let de = &mut serde_json::Deserializer::from_str(text);
        let c: ImpedanceConfig = serde_path_to_error::deserialize(de)
            .map_err(|e| format!("configuration error at `{}`: {}", e.path(), e.inner()))?;
        c.validate()?;
        Ok(c)
    }

    pub fn validate(&self) -> Result<(), String> {
        self.structure
            .validate()
            .map_err(|e| format!("structure: {e}"))?;
        self.materials
            .validate()
            .map_err(|e| format!("materials: {e}"))?;
        self.sweep.validate().map_err(|e| format!("sweep: {e}"))?;
        if self.analysis.fit_elements > 12 {
            return Err(format!(
                "analysis: `fit_elements` = {}: must be in 0..=12",
                self.analysis.fit_elements
            ));
        }
        if let Some(l) = self.analysis.drt_lambda {
            if !(l > 0.0 && l.is_finite()) {
                return Err(format!("analysis: `drt_lambda` = {l}: must be > 0"));
            }
        }
        if !(self.analysis.drt_fwhm_factor.is_finite() && self.analysis.drt_fwhm_factor > 0.0) {
            return Err("analysis: `drt_fwhm_factor` must be > 0".into());
        }
        Ok(())
    }
}
